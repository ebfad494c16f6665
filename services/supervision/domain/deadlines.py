"""Where a part stands against its deadline, and how suspensions and extensions move it (pure)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.workdays import CHINA, WorkingCalendar


class ClockState(StrEnum):
    PENDING = "pending"  # not accepted yet: the handling clock has not started
    RUNNING = "running"
    SUSPENDED = "suspended"
    OVERDUE = "overdue"
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    UNSCHEDULED = "unscheduled"  # its dates fall in a year the working-day calendar does not know yet


STATE_TEXT = {
    ClockState.PENDING: "未受理",
    ClockState.RUNNING: "办理中",
    ClockState.SUSPENDED: "中止计时",
    ClockState.OVERDUE: "已超期",
    ClockState.DONE_ON_TIME: "按时办结",
    ClockState.DONE_LATE: "超期办结",
    ClockState.UNSCHEDULED: "未计时：工作日历缺少该年度",
}


def deadline(
    calendar: WorkingCalendar, started_at: datetime, limit_days: int, suspended_days: int, extension_days: int
) -> datetime:
    """N working days after the start, plus the working days spent suspended, plus approved extensions."""
    return calendar.deadline(started_at, limit_days + suspended_days + extension_days)


def suspended_days(calendar: WorkingCalendar, since: datetime, until: datetime) -> int:
    """Working days that do not count: those after the suspension began, up to the day it ended."""
    return calendar.working_days_between(since.astimezone(CHINA).date(), until.astimezone(CHINA).date())


def clock_state(
    started_at: datetime | None,
    due: datetime | None,
    suspended: bool,
    decided_at: datetime | None,
    now: datetime,
    calendar_error: str | None = None,
) -> ClockState:
    if started_at is None:
        return ClockState.PENDING
    if calendar_error and decided_at is None:
        return ClockState.UNSCHEDULED
    if decided_at is not None:
        return ClockState.DONE_ON_TIME if due is None or decided_at <= due else ClockState.DONE_LATE
    if suspended or due is None:
        return ClockState.SUSPENDED
    return ClockState.OVERDUE if now > due else ClockState.RUNNING
