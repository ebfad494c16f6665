"""How an adapter reaches its department's own system; one implementation per protocol."""

from __future__ import annotations

from typing import Protocol

from services.department_adapter.domain.answer import Answer
from shared.contracts import HandlingStarted, SupervisionAlert, WorkOrder


class ConnectorError(RuntimeError):
    """The department system could not be reached or answered nonsense; worth retrying."""


class WorkRefused(ConnectorError):
    """The department system refused the request itself (HTTP 4xx): asking again cannot help."""


class Connector(Protocol):
    async def pre_review(self, order: WorkOrder) -> Answer:
        """Accept, ask for a supplement, or refuse the materials of one round."""

    async def decide(self, work: HandlingStarted) -> Answer:
        """Approve, deny, or require rectification; NotYetDecided while the department is still at it."""

    async def notify(self, alert: SupervisionAlert) -> str:
        """Hand a supervision notice to the department; returns who acknowledged it (回告)."""

    async def close(self) -> None: ...
