"""Keeping a part's clock: start, suspension, extension, decision; and when to look at it next."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.supervision.adapters.orm import PartClock
from services.supervision.domain.deadlines import deadline, suspended_days
from services.supervision.domain.ladder import Policy
from shared.workdays import WorkingCalendar


class Clocks:
    def __init__(self, calendar: WorkingCalendar, policy: Policy) -> None:
        self.calendar, self.policy = calendar, policy

    def start(self, part: PartClock, at: datetime) -> None:
        part.started_at = at
        self._reschedule(part)

    def suspend(self, part: PartClock, at: datetime) -> None:
        if part.suspended_since is None and part.started_at is not None:
            part.suspended_since, part.deadline, part.next_check_at = at, None, None

    def resume(self, part: PartClock, at: datetime) -> None:
        if part.suspended_since is not None:
            part.suspended_days += suspended_days(self.calendar, part.suspended_since, at)
            part.suspended_since = None
            self._reschedule(part)

    def extend(self, part: PartClock, days: int) -> None:
        """An approved extension: a later deadline, and a fresh ladder towards it."""
        part.extension_days += days
        part.reminded, part.yellow, part.urges = False, False, []
        if part.suspended_since is None:
            self._reschedule(part)

    def _reschedule(self, part: PartClock) -> None:
        assert part.started_at is not None
        part.deadline = deadline(self.calendar, part.started_at, part.time_limit_days, part.suspended_days,
                                 part.extension_days)
        remind_at = self.calendar.shift(part.deadline, -self.policy.remind_days_before)
        part.next_check_at = part.deadline + timedelta(seconds=1) if part.reminded else remind_at
