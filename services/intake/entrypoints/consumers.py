"""Every topic intake reads, and the handler for each: messages become calls at this boundary."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.service_layer.act import CaseActions
from shared.contracts import DepartmentActed
from shared.messaging.consumer import Apply, Delivery, expect
from shared.topics import Topics


def handlers(topics: Topics, actions: CaseActions) -> dict[str, Apply]:
    async def department_actions(session: AsyncSession, deliveries: list[Delivery]) -> None:
        """What departments' systems did (and supervision's deemed approvals): steps on their cases."""
        await actions.record(session, expect(DepartmentActed, deliveries))

    return {topics.department_actions: department_actions}
