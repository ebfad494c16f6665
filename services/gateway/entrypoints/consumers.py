"""Every topic the gateway reads, and the handler for each: messages become calls at this boundary."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.service_layer.project import Projector
from shared.messaging.consumer import Apply, Delivery
from shared.topics import Topics


def handlers(topics: Topics, projector: Projector) -> dict[str, Apply]:
    async def case_events(session: AsyncSession, deliveries: list[Delivery]) -> None:
        """The case's story, into the applicant's view; a concluded case gets its one reply."""
        await projector.follow(session, [d.data for d in deliveries])

    return {topics.case_events: case_events}
