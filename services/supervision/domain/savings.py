"""Parallel against serial (pure): the working days a joint case took, against the sum of its parts' own
days, which is what handling them one after another (串联审批) would have taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.workdays import CHINA, WorkingCalendar


def span_days(calendar: WorkingCalendar, start: datetime, end: datetime, suspended_days: int = 0) -> int:
    """Working days from `start` to `end` as a clerk counts them: the day work began counts, so work begun
    and finished on one day took one day; days spent suspended do not count."""
    counted = calendar.working_days_between(start.astimezone(CHINA).date(), end.astimezone(CHINA).date()) + 1
    return max(1, counted - suspended_days)


@dataclass(frozen=True)
class CaseSaving:
    case_id: str
    matter_code: str
    concluded_at: datetime
    joint_days: int
    serial_days: int

    @property
    def saved_days(self) -> int:
        return max(0, self.serial_days - self.joint_days)


@dataclass(frozen=True)
class PartSpan:
    started_at: datetime
    decided_at: datetime
    suspended_days: int


def saving(
    calendar: WorkingCalendar,
    case_id: str,
    matter_code: str,
    accepted_at: datetime,
    concluded_at: datetime,
    parts: list[PartSpan],
) -> CaseSaving:
    serial = sum(span_days(calendar, p.started_at, p.decided_at, p.suspended_days) for p in parts)
    joint = span_days(calendar, accepted_at, concluded_at)
    return CaseSaving(case_id, matter_code, concluded_at, joint, serial)
