"""Supervision statistics (pure): from cases, parts and alerts, the figures a center is assessed on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from shared.workdays import CHINA, WorkingCalendar


@dataclass(frozen=True)
class CaseFacts:
    case_id: str
    accepted: bool
    concluded: bool
    evaluation: int | None


@dataclass(frozen=True)
class PartFacts:
    department: str
    started_at: datetime | None
    deadline: datetime | None
    decided_at: datetime | None
    suspended_days: int
    deemed: bool


class Figures(BaseModel):
    received: int
    accepted: int
    completed: int
    decided_parts: int
    on_time_parts: int
    on_time_rate: float | None
    overdue_parts: int
    mean_working_days: float | None
    cards: dict[str, int]
    urges: int
    shirking_records: int
    deemed_approvals: int
    mean_evaluation: float | None
    undelivered: int = 0  # 送达异常: work a department's side did not take in time
    complaints: int = 0  # 投诉 filed about these cases (about the department, when one is asked for)


def figures(
    cases: list[CaseFacts],
    parts: list[PartFacts],
    alert_kinds: list[str],
    now: datetime,
    calendar: WorkingCalendar,
    undelivered: int = 0,
    complaints: int = 0,
) -> Figures:
    decided = [p for p in parts if p.decided_at is not None and p.started_at is not None]
    on_time = [p for p in decided if decided_on_time(p.deadline, p.decided_at, p.deemed)]
    overdue = [
        p
        for p in parts
        if p.deadline is not None
        and (
            (p.decided_at is None and now > p.deadline) or (p.decided_at is not None and (p.deemed or p.decided_at > p.deadline))
        )
    ]
    used = [
        calendar.working_days_between(_day(p.started_at), _day(p.decided_at)) - p.suspended_days  # type: ignore[arg-type]
        for p in decided
    ]
    marks = [c.evaluation for c in cases if c.evaluation is not None]
    kinds = Counter(alert_kinds)
    return Figures(
        received=len(cases),
        accepted=sum(c.accepted for c in cases),
        completed=sum(c.concluded for c in cases),
        decided_parts=len(decided),
        on_time_parts=len(on_time),
        on_time_rate=round(len(on_time) / len(decided), 4) if decided else None,
        overdue_parts=len(overdue),
        mean_working_days=round(sum(used) / len(used), 2) if used else None,
        cards={"reminder": kinds["reminder"], "yellow": kinds["yellow_card"], "red": kinds["red_card"]},
        urges=kinds["urge"],
        shirking_records=kinds["shirking"],
        deemed_approvals=kinds["deemed_approval"],
        mean_evaluation=round(sum(marks) / len(marks), 2) if marks else None,
        undelivered=undelivered,
        complaints=complaints,
    )


def decided_on_time(deadline: datetime | None, decided_at: datetime | None, deemed: bool) -> bool:
    """按时办结: the department decided by its deadline itself (a deemed approval is supervision's, not on time)."""
    return not deemed and deadline is not None and decided_at is not None and decided_at <= deadline


def ranking_key(department: str, f: Figures) -> tuple[float, int, float, str]:
    """Best first: highest on-time rate, fewest overdue parts, fewest working days used."""
    return (
        -(f.on_time_rate if f.on_time_rate is not None else -1.0),
        f.overdue_parts,
        f.mean_working_days if f.mean_working_days is not None else 0.0,
        department,
    )


def _day(moment: datetime) -> object:
    return moment.astimezone(CHINA).date()
