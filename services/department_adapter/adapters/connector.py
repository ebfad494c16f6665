"""How an adapter reaches its department's own system: one interface, one implementation per bridge.

A bridge that answers at once (http) returns the answer; a store-and-forward bridge (ferry, database)
sends the work on, raises InTransit until the department side has taken it and NotYetDecided until it
has answered, and calls `news` when answers arrive so the dispatcher asks again at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.department_adapter.domain.answer import Answer
from shared.contracts import HandlingStarted, SupervisionAlert, WaitingWork, WorkOrder

News = Callable[[Iterable[str]], None]  # inbox item ids the bridge has news of


class ConnectorError(RuntimeError):
    """The department system could not be reached or answered nonsense; worth retrying."""


class WorkRefused(ConnectorError):
    """The department system refused the request itself (HTTP 4xx): asking again cannot help."""


@dataclass(frozen=True)
class BridgeFacts:
    """What a bridge knows of the department side, for its report: when it was last heard from, and
    what this kind of bridge adds (bundles and gaps, last poll, lag). `waiting` and `oldest` from a bridge
    that knows them better than the adapter's inbox (a mirror, which the inbox never sees)."""

    last_contact_at: datetime | None
    detail: dict[str, Any] = field(default_factory=dict)
    waiting: int | None = None
    oldest: list[WaitingWork] = field(default_factory=list)


class Connector(Protocol):
    bridge: str  # http, ferry, database or kafka: the catalog's name for it

    async def start(self, news: News) -> None:
        """Begin the bridge's own work (writing bundles, polling); `news` wakes the items it has answers for."""

    async def pre_review(self, order: WorkOrder) -> Answer:
        """Accept, ask for a supplement, or refuse the materials of one round."""

    async def decide(self, work: HandlingStarted) -> Answer:
        """Approve, deny, or require rectification; NotYetDecided while the department is still at it."""

    async def notify(self, alert: SupervisionAlert) -> str:
        """Hand a supervision notice to the department; returns who acknowledged it (回告)."""

    def facts(self) -> BridgeFacts: ...

    async def close(self) -> None: ...
