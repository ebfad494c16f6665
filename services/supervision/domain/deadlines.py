"""Where a part stands against its deadline (pure)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class ClockState(StrEnum):
    RUNNING = "running"
    OVERDUE = "overdue"
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    UNSCHEDULED = "unscheduled"


def clock_state(deadline: datetime | None, decided_at: datetime | None, now: datetime) -> ClockState:
    if deadline is None:
        return ClockState.UNSCHEDULED
    if decided_at is not None:
        return ClockState.DONE_ON_TIME if decided_at <= deadline else ClockState.DONE_LATE
    return ClockState.OVERDUE if now > deadline else ClockState.RUNNING


STATE_TEXT = {
    ClockState.RUNNING: "办理中",
    ClockState.OVERDUE: "已超期",
    ClockState.DONE_ON_TIME: "按时办结",
    ClockState.DONE_LATE: "超期办结",
    ClockState.UNSCHEDULED: "未计时",
}
