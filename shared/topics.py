"""The center's channels (topic families) and their topic names, scoped by center.

Every topic has its writers, and the broker's ACLs hold them to it (`deploy/kafka_acls.py`): a
department's principal reads only its own work and feedback topics and writes only its own actions
and acknowledgements topics, so the topic an action arrives on proves which department sent it.
Which event goes to which channel is `shared/routing.py`; both feed the AsyncAPI document.
"""

from __future__ import annotations

import re
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

    @property
    def per_department(self) -> bool:
        return "{department}" in self.suffix

    @property
    def per_peer(self) -> bool:
        """A topic per other center this center exchanges cases with (the exchange)."""
        return "{peer}" in self.suffix


CASE_EVENTS = Channel(
    "caseEvents",
    "case.events",
    "Everything that happened to each case, as the lead window (intake) recorded it. Only intake writes it.",
    ("intake",),
    ("gateway", "supervision"),
)
WORK = Channel(
    "work",
    "work.{department}",
    "Work for one department: pre-review requests (each round), the start of handling, supervision's "
    "notices (each to be acknowledged) and the closing of work a case no longer needs. Each department's "
    "principal reads only its own.",
    ("intake", "supervision"),
    ("department",),
)
DEPARTMENT_ACTIONS = Channel(
    "departmentActions",
    "actions.{department}",
    "What one department did on its parts; only that department's principal writes it, so the topic "
    "proves who acted. The case checks and records each action.",
    ("department",),
    ("intake",),
)
DEEMED_APPROVALS = Channel(
    "deemedApprovals",
    "supervision.deemed-approvals",
    "Supervision's deemed approvals (超时默许) on a silent department's behalf; only supervision writes it.",
    ("supervision",),
    ("intake",),
)
REPLIES = Channel(
    "caseReplies",
    "case.replies",
    "The one unified reply (统一回复) per case; only the gateway writes it.",
    ("gateway",),
    ("supervision",),
)
ALERTS = Channel(
    "supervisionAlerts",
    "supervision.alerts",
    "Supervision's reminders, yellow and red cards, urges, shirking records and deemed approvals.",
    ("supervision",),
    (),
)
ACKNOWLEDGEMENTS = Channel(
    "acknowledgements",
    "acks.{department}",
    "One department's acknowledgements: of supervision's notices (回告) and of work taken off its bridge "
    "(签收); only that department writes it.",
    ("department",),
    ("supervision",),
)
BRIDGES = Channel(
    "bridgeReports",
    "bridge.{department}",
    "How one department's bridge stands (what waits for the department side, when it was last heard from), "
    "every few seconds from its adapter; only that department writes it.",
    ("department",),
    ("supervision",),
)
FEEDBACK = Channel(
    "feedback",
    "feedback.{department}",
    "What became of one department's own messages: its actions the case refused (each also counted by "
    "supervision) and its messages no consumer could read (dead letters). Only that department reads it.",
    ("intake", "supervision"),
    ("department",),
)
DEAD_LETTERS = Channel(
    "deadLetters",
    "dead-letters",
    "Messages a consumer could not handle, with the cause, topic, partition and offset; for the center's operators, "
    "whose console (supervision) keeps each one until it is redriven to its topic or discarded.",
    ("intake", "department", "gateway", "supervision"),
    ("supervision",),
)
EXCHANGE = Channel(
    "centerExchange",
    "exchange.{peer}",
    "What this center sends another center it exchanges cases with (its parent or one of its children, "
    "`shared/centers.json`): a part transferred up to be decided there (转报) and its result back (办结), by intake; "
    "its figures for the parent's roll-up (汇总), by supervision. Written on the sending center's cluster, signed with "
    "the sending center's key, mirrored to the peer's cluster by MirrorMaker 2 under the same name and read there by "
    "the peer's intake and supervision, each taking its own records (docs/exchange.md).",
    ("intake", "supervision"),
    ("intake", "supervision"),
)
CHANNELS = (
    CASE_EVENTS,
    WORK,
    DEPARTMENT_ACTIONS,
    DEEMED_APPROVALS,
    REPLIES,
    ALERTS,
    ACKNOWLEDGEMENTS,
    BRIDGES,
    FEEDBACK,
    DEAD_LETTERS,
    EXCHANGE,
)
SENT_BY_DEPARTMENTS = (DEPARTMENT_ACTIONS, ACKNOWLEDGEMENTS, BRIDGES)


@dataclass(frozen=True)
class Topics:
    center: str

    def of(self, channel: Channel, scope: str | None = None) -> str:
        """The channel's topic of this center; `scope` is the department (or, for the exchange, the peer
        center) of a channel with a topic per department (per peer)."""
        suffix = channel.suffix
        if channel.per_department:
            suffix = suffix.format(department=scope)
        elif channel.per_peer:
            suffix = suffix.format(peer=scope)
        return f"{PREFIX}.{self.center}.{suffix}"

    def sender(self, topic: str) -> str | None:
        """The department a topic proves as the writer (its actions or acknowledgements topic), else None."""
        for channel in SENT_BY_DEPARTMENTS:
            head = self.of(channel, "")
            if topic.startswith(head) and re.fullmatch(r"[a-z0-9_-]+", department := topic[len(head) :]):
                return department
        return None

    def adapter_group(self, department: str) -> str:
        """A department adapter's consumer group (`Runtime.group` of `adapter-<department>`); the groups of the
        department's own clients begin with it and a dot."""
        return f"lianban-{self.center}-adapter-{department}"

    @property
    def case_events(self) -> str:
        return self.of(CASE_EVENTS)

    def work(self, department: str) -> str:
        return self.of(WORK, department)

    def actions(self, department: str) -> str:
        return self.of(DEPARTMENT_ACTIONS, department)

    def acknowledgements(self, department: str) -> str:
        return self.of(ACKNOWLEDGEMENTS, department)

    def bridge(self, department: str) -> str:
        return self.of(BRIDGES, department)

    def feedback(self, department: str) -> str:
        return self.of(FEEDBACK, department)

    @property
    def deemed_approvals(self) -> str:
        return self.of(DEEMED_APPROVALS)

    @property
    def replies(self) -> str:
        return self.of(REPLIES)

    @property
    def alerts(self) -> str:
        return self.of(ALERTS)

    @property
    def dead_letters(self) -> str:
        return self.of(DEAD_LETTERS)

    def exchange(self, peer: str) -> str:
        """What this center sends to `peer`: written here, mirrored to the peer's cluster; the peer reads
        what this center receives from it at `Topics(peer).exchange(this center)`."""
        return self.of(EXCHANGE, peer)
