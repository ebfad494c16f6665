"""Handling a batch of work orders: ask the department system, then record and publish its answers."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.department_adapter.adapters.connector import Connector, ConnectorError
from services.department_adapter.adapters.orm import AnsweredWorkOrder
from shared.contracts import WorkOrder
from shared.messaging.consumer import DeadLetters, Delivery
from shared.messaging.outbox import Outbox
from shared.topics import Topics


class WorkHandler:
    def __init__(self, department: str, connector: Connector, dead_letters: DeadLetters, outbox: Outbox,
                 topics: Topics, *, attempts: int, backoff: float, concurrency: int,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.department, self.connector, self.dead_letters = department, connector, dead_letters
        self.outbox, self.topics, self.attempts, self.backoff = outbox, topics, attempts, backoff
        self.limit = asyncio.Semaphore(concurrency)
        self.clock = clock

    async def decide(self, delivery: Delivery) -> Delivery | None:
        """Ask the department system, retrying with backoff; an order it cannot answer is dead-lettered."""
        order = delivery.data
        if not isinstance(order, WorkOrder) or order.department != self.department:
            await self.dead_letters.send(delivery.record, f"not a work order for {self.department}: {delivery.event.type}")
            return None
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.limit:
                    decision = await self.connector.decide(order)
                return dataclasses.replace(delivery, prepared=decision)
            except (ConnectorError, ValueError) as exc:
                if attempt == self.attempts:
                    await self.dead_letters.send(delivery.record, f"after {attempt} attempts: {exc}")
                    return None
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        return None

    async def apply(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        """Record each answer once and queue the result; an order answered before is skipped."""
        ids = [d.data.work_order_id for d in deliveries]  # type: ignore[attr-defined]
        answered = set(await session.scalars(
            select(AnsweredWorkOrder.work_order_id).where(AnsweredWorkOrder.work_order_id.in_(ids))))
        now = self.clock()
        for delivery in deliveries:
            order: WorkOrder = delivery.data  # type: ignore[assignment]
            if order.work_order_id in answered:
                continue
            answered.add(order.work_order_id)
            result = delivery.prepared.result_for(order, now)
            event = self.outbox.add(session, self.topics.results, result, subject=order.case_id)
            session.add(AnsweredWorkOrder(work_order_id=order.work_order_id, case_id=order.case_id,
                                          outcome=result.outcome.value, result_event_id=event.id, answered_at=now))
