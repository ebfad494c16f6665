"""The warning ladder of one part (pure): reminder, yellow card, urging, shirking, red card,
and silence means yes. Given what has happened and the time, it says which steps are due now
and when to look again, which is what the due-date index stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.contracts import AlertKind
from shared.workdays import WorkingCalendar


@dataclass(frozen=True)
class Policy:
    """The center's thresholds, in working days."""

    remind_days_before: int = 1
    urge_every_days: int = 1
    shirk_after_urges: int = 3
    red_after_overdue_days: int = 3
    red_after_yellow_cards: int = 3
    deem_after_urge_days: int = 5


@dataclass
class Watch:
    """What the ladder needs to know about one undecided part."""

    deadline: datetime | None  # None while the clock is suspended
    silence_means_yes: bool = False
    extension_approved: bool = False
    reminded: bool = False
    yellow: bool = False
    red: bool = False
    shirking: bool = False
    deemed: bool = False
    urges: list[datetime] = field(default_factory=list)  # unanswered urges, oldest first
    department_yellow_cards: int = 0  # the department's yellow cards, this part's included


def overdue_from(deadline: datetime) -> datetime:
    """The first moment a part is late: just after its deadline, when its yellow card is due."""
    return deadline + timedelta(microseconds=1)


def due(watch: Watch, now: datetime, calendar: WorkingCalendar, policy: Policy) -> tuple[list[AlertKind], datetime | None]:
    """The steps due at `now`, in order, and the next moment anything could become due."""
    if watch.deadline is None or watch.deemed:
        return [], None
    steps: list[AlertKind] = []
    deadline = watch.deadline
    remind_at = calendar.shift(deadline, -policy.remind_days_before)
    if not watch.reminded and remind_at <= now <= deadline:
        steps.append(AlertKind.REMIND)
    urges = list(watch.urges)
    if not watch.shirking and len(urges) >= policy.shirk_after_urges:  # three urges by the lead, say
        steps.append(AlertKind.SHIRK)
    if now > deadline:
        if not watch.yellow:
            steps.append(AlertKind.YELLOW)
        overdue_urges = [u for u in urges if u > deadline]  # urges before the deadline do not start silence
        if not overdue_urges or now >= calendar.shift(overdue_urges[-1], policy.urge_every_days):
            steps.append(AlertKind.URGE)
            urges.append(now)
            overdue_urges.append(now)
        if not watch.shirking and AlertKind.SHIRK not in steps and len(urges) >= policy.shirk_after_urges:
            steps.append(AlertKind.SHIRK)
        repeated = watch.department_yellow_cards + (AlertKind.YELLOW in steps) >= policy.red_after_yellow_cards
        if not watch.red and (now >= calendar.shift(deadline, policy.red_after_overdue_days) or repeated):
            steps.append(AlertKind.RED)
        if (
            watch.silence_means_yes
            and not watch.extension_approved
            and now >= calendar.shift(overdue_urges[0], policy.deem_after_urge_days)
        ):
            steps.append(AlertKind.DEEM)
    return steps, _next_check(watch, steps, urges, now, calendar, policy, remind_at)


def _next_check(
    watch: Watch,
    steps: list[AlertKind],
    urges: list[datetime],
    now: datetime,
    calendar: WorkingCalendar,
    policy: Policy,
    remind_at: datetime,
) -> datetime | None:
    if AlertKind.DEEM in steps:
        return None
    assert watch.deadline is not None
    later = [t for t in (remind_at, overdue_from(watch.deadline)) if t > now]
    overdue_urges = [u for u in urges if u > watch.deadline]
    if now > watch.deadline or not later:
        later.append(calendar.shift(overdue_urges[-1] if overdue_urges else now, policy.urge_every_days))
        if not (watch.red or AlertKind.RED in steps):
            later.append(calendar.shift(watch.deadline, policy.red_after_overdue_days))
        if watch.silence_means_yes and not watch.extension_approved and overdue_urges:
            later.append(calendar.shift(overdue_urges[0], policy.deem_after_urge_days))
    future = [t for t in later if t > now]
    return min(future) if future else None
