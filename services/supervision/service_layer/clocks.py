"""Keeping a part's clock: start, suspension, extension, decision; and when to look at it next.

The facts (start, suspensions, approved days) are kept as they happened and the deadline is
computed from them, so a part whose dates fall in a year the calendar does not know yet waits,
visibly, and is scheduled as soon as the year is added to the override file (at the next start).
"""

from __future__ import annotations

import logging
from datetime import datetime

from services.supervision.adapters.orm import PartClock
from services.supervision.domain.deadlines import deadline, suspended_days
from services.supervision.domain.ladder import Policy, overdue_from
from shared.workdays import UnknownYearError, WorkingCalendar

log = logging.getLogger(__name__)


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
            part.suspensions = [*part.suspensions, [part.suspended_since.isoformat(), at.isoformat()]]
            part.suspended_since = None
            self._reschedule(part)

    def extend(self, part: PartClock, days: int) -> None:
        """An approved extension: a later deadline, and a fresh ladder towards it."""
        part.extension_days += days
        part.ladder_round += 1
        part.reminded, part.yellow, part.urges = False, False, []
        if part.suspended_since is None:
            self._reschedule(part)

    def reschedule(self, part: PartClock) -> None:
        """Compute the deadline again from the facts (after the calendar learnt a new year)."""
        if part.started_at is not None and part.suspended_since is None and part.decided_at is None:
            self._reschedule(part)

    def _reschedule(self, part: PartClock) -> None:
        assert part.started_at is not None
        try:
            part.suspended_days = sum(
                suspended_days(self.calendar, datetime.fromisoformat(since), datetime.fromisoformat(until))
                for since, until in part.suspensions
            )
            part.deadline = deadline(
                self.calendar, part.started_at, part.time_limit_days, part.suspended_days, part.extension_days
            )
            remind_at = self.calendar.shift(part.deadline, -self.policy.remind_days_before)
        except UnknownYearError as exc:
            log.error("part %s has no deadline yet: %s", part.work_order_id, exc)
            part.deadline, part.next_check_at, part.calendar_error = None, None, str(exc)
            return
        part.calendar_error = None
        part.next_check_at = overdue_from(part.deadline) if part.reminded else remind_at
