"""Every topic supervision reads, and the handler for each: messages become calls at this boundary."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.service_layer.watch import Watcher, record
from shared.messaging.consumer import Apply, Delivery
from shared.topics import Topics


def handlers(topics: Topics, departments: Iterable[str], watcher: Watcher) -> dict[str, Apply]:
    def acknowledgements(department: str) -> Apply:
        async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
            """回告 of notices, from the department's own topic: it acknowledges only its own."""
            await watcher.acknowledge(session, deliveries, sender=department)

        return apply

    return {
        topics.case_events: watcher.follow,  # timeline, part clocks, violations
        topics.replies: record,  # the one reply, on the case's timeline
    } | {topics.acknowledgements(d): acknowledgements(d) for d in departments}
