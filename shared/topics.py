"""The center's channels (topic families) and their topic names, scoped by center.

A department's bridge is only ever granted its own work topic, so it sees only its own work.
Which event goes to which channel is `shared/routing.py`; both feed the AsyncAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "lianban"


@dataclass(frozen=True)
class Channel:
    """A family of topics: its AsyncAPI id, its name after `lianban.<center>.`, who writes and who reads."""

    id: str
    suffix: str
    description: str
    senders: tuple[str, ...]
    receivers: tuple[str, ...]

    @property
    def address(self) -> str:
        return f"{PREFIX}.{{center}}.{self.suffix}"


CASE_EVENTS = Channel(
    "caseEvents",
    "case.events",
    "Everything that happened to each case, as the lead window (intake) recorded it.",
    ("intake",),
    ("gateway", "supervision"),
)
WORK = Channel(
    "work",
    "work.{department}",
    "Work for one department: pre-review requests (each round), the start of handling, and supervision's "
    "notices, each to be acknowledged. Each department's bridge reads only its own.",
    ("intake", "supervision"),
    ("department_adapter",),
)
DEPARTMENT_ACTIONS = Channel(
    "departmentActions",
    "department.actions",
    "What a department's system did on its part (or supervision's deemed approval on its "
    "behalf); the case checks and records it.",
    ("department_adapter", "supervision"),
    ("intake",),
)
REPLIES = Channel("caseReplies", "case.replies", "The one unified reply (统一回复) per case.", ("gateway",), ("supervision",))
ALERTS = Channel(
    "supervisionAlerts",
    "supervision.alerts",
    "Supervision's reminders, yellow and red cards, urges, shirking records and deemed approvals.",
    ("supervision",),
    (),
)
ACKNOWLEDGEMENTS = Channel(
    "acknowledgements",
    "supervision.acks",
    "Departments' acknowledgements (回告) of notices.",
    ("department_adapter",),
    ("supervision",),
)
DEAD_LETTERS = Channel(
    "deadLetters",
    "dead-letters",
    "Messages a consumer could not handle, with the cause, topic, partition and offset.",
    ("intake", "department_adapter", "gateway", "supervision"),
    (),
)
CHANNELS = (CASE_EVENTS, WORK, DEPARTMENT_ACTIONS, REPLIES, ALERTS, ACKNOWLEDGEMENTS, DEAD_LETTERS)


@dataclass(frozen=True)
class Topics:
    center: str

    def of(self, channel: Channel, department: str | None = None) -> str:
        suffix = channel.suffix.format(department=department) if "{department}" in channel.suffix else channel.suffix
        return f"{PREFIX}.{self.center}.{suffix}"

    @property
    def case_events(self) -> str:
        return self.of(CASE_EVENTS)

    def work(self, department: str) -> str:
        return self.of(WORK, department)

    @property
    def department_actions(self) -> str:
        return self.of(DEPARTMENT_ACTIONS)

    @property
    def replies(self) -> str:
        return self.of(REPLIES)

    @property
    def alerts(self) -> str:
        return self.of(ALERTS)

    @property
    def acknowledgements(self) -> str:
        return self.of(ACKNOWLEDGEMENTS)

    @property
    def dead_letters(self) -> str:
        return self.of(DEAD_LETTERS)
