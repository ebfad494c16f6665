"""Taking work orders off the department's topic into the inbox (idempotent per work order)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.department_adapter.adapters.orm import WorkItem
from shared.contracts import WorkOrder
from shared.messaging.consumer import Delivery


class AcceptWork:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock

    async def apply(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        ids = [d.data.work_order_id for d in deliveries if isinstance(d.data, WorkOrder)]
        known = set(await session.scalars(select(WorkItem.work_order_id).where(WorkItem.work_order_id.in_(ids))))
        now = self.clock()
        for d in deliveries:
            order_id = getattr(d.data, "work_order_id", None) or f"{d.record.topic}@{d.record.partition}:{d.record.offset}"
            if order_id in known:
                continue
            known.add(order_id)
            session.add(WorkItem(work_order_id=order_id, case_id=d.event.subject, event=d.event.to_bytes(),
                                 topic=d.record.topic, partition=d.record.partition, offset=d.record.offset,
                                 next_attempt_at=now))
