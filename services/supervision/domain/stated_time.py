"""Which time of a department's action supervision counts (pure).

A department signs the time it acted; Lianban notes when the action arrived. Lateness is counted from
the signed time, the department's own legal act, never later than its arrival (nothing is decided after
it was received). A signed time in the future, or long before it arrived, is counted all the same but
flagged: a wrong clock, a ferry that waited days, or a decision dated back to beat a deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.contracts import PartActionRecorded
from shared.workdays import CHINA


@dataclass(frozen=True)
class TimeTrust:
    tolerance: timedelta = timedelta(minutes=5)  # clocks disagree by this much without a flag
    max_transit: timedelta = timedelta(hours=24)  # longer on the way than this is flagged


@dataclass(frozen=True)
class StatedTime:
    counted: datetime
    received: datetime
    doubt: str | None  # why the stated time is flagged, as supervisors read it

    @property
    def transit(self) -> timedelta:
        return self.received - self.counted


def stated_time(event: PartActionRecorded, trust: TimeTrust) -> StatedTime:
    stated, received = event.acted_at, event.received_at or event.acted_at
    doubt = None
    if stated - received > trust.tolerance:
        doubt = f"签署时间 {_text(stated)} 晚于接收时间 {_text(received)}（签署方时钟超前），按接收时间计"
    elif received - stated > trust.max_transit:
        hours, limit = (received - stated).total_seconds() / 3600, _hours(trust)
        doubt = f"签署时间 {_text(stated)}，接收时间 {_text(received)}，传输用时 {hours:.1f} 小时，超过 {limit} 小时的上限"
    return StatedTime(min(stated, received), received, doubt)


def _text(moment: datetime) -> str:
    return f"{moment.astimezone(CHINA):%Y-%m-%d %H:%M:%S}"


def _hours(trust: TimeTrust) -> str:
    return f"{trust.max_transit.total_seconds() / 3600:g}"
