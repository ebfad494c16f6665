"""How an adapter reaches its department's own system; one implementation per protocol."""

from __future__ import annotations

from typing import Protocol

from services.department_adapter.domain.decision import Decision
from shared.contracts import WorkOrder


class ConnectorError(RuntimeError):
    """The department system could not be reached or answered nonsense; worth retrying."""


class Connector(Protocol):
    async def decide(self, order: WorkOrder) -> Decision: ...

    async def close(self) -> None: ...
