"""Taking work off the department's topic into the inbox (idempotent per piece of work)."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.department_adapter.adapters.orm import InboxItem, WorkStatus
from services.department_adapter.domain.answer import item_id
from shared.clock import SYSTEM_CLOCK, Clock
from shared.contracts import WorkClosed
from shared.messaging.consumer import Delivery

_KNOWN = select(InboxItem.item_id).where(InboxItem.item_id.in_(bindparam("ids", expanding=True)))  # built once


def inbox_key(delivery: Delivery) -> str:
    """The inbox key of what came: the piece of work's own id, or where the message was for anything else."""
    return item_id(delivery.data) or f"{delivery.record.topic}@{delivery.record.partition}:{delivery.record.offset}"


class AcceptWork:
    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock

    async def apply(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        ids = {d.event.id: inbox_key(d) for d in deliveries}
        known = set(await session.scalars(_KNOWN, {"ids": list(ids.values())}))
        now = self.clock.now()
        for d in deliveries:
            key = ids[d.event.id]
            if key in known:
                continue
            known.add(key)
            # Anything that is not work for this department is kept too, and dead-lettered by the dispatcher.
            session.add(
                InboxItem(
                    item_id=key,
                    case_id=d.event.subject,
                    event=d.event.to_bytes(),
                    topic=d.record.topic,
                    partition=d.record.partition,
                    offset=d.record.offset,
                    status=WorkStatus.CLOSED if isinstance(d.data, WorkClosed) else WorkStatus.PENDING,
                    next_attempt_at=now,
                    queued_at=now,
                )
            )
        await self._close(session, [d.data for d in deliveries if isinstance(d.data, WorkClosed)])  # after the adds: autoflush

    @staticmethod
    async def _close(session: AsyncSession, closed: list[WorkClosed]) -> None:
        """Work of a case that ended without the department's decision is asked about no more."""
        for work in closed:
            await session.execute(
                update(InboxItem)
                .where(
                    InboxItem.item_id.startswith(f"{work.work_order_id}#", autoescape=True),
                    InboxItem.status == WorkStatus.PENDING,
                )
                .values(status=WorkStatus.CLOSED)
            )
