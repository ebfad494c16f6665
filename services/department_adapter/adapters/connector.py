"""How an adapter reaches its department's own system; one implementation per protocol."""

from __future__ import annotations

from typing import Protocol

from services.department_adapter.domain.answer import Answer
from shared.contracts import HandlingStarted, WorkOrder


class ConnectorError(RuntimeError):
    """The department system could not be reached or answered nonsense; worth retrying."""


class Connector(Protocol):
    async def pre_review(self, order: WorkOrder) -> Answer:
        """Accept, ask for a supplement, or refuse the materials of one round."""

    async def decide(self, work: HandlingStarted) -> Answer:
        """Approve, deny, or require rectification."""

    async def close(self) -> None: ...
