"""Transactional outbox: a state change and the events it implies commit together.

The relay publishes pending rows in batches (acks=all, many in flight at once) and deletes
them once Kafka has confirmed. A crash between the two republishes the same event ids, which
every consumer deduplicates, so delivery is at-least-once and effectively once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from sqlalchemy import Integer, LargeBinary, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.contracts.envelope import CloudEvent, EventData
from shared.db import MessagingBase, SessionFactory, UtcDateTime
from shared.routing import destinations
from shared.topics import Topics
from shared.wakeup import woken_or_idle

log = logging.getLogger(__name__)
CONTENT_TYPE = {"content-type": "application/cloudevents+json"}


class OutboxRow(MessagingBase):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=lambda: datetime.now(UTC))


class Outbox:
    """Adds events to the caller's transaction, each to the topics the routing table gives its type;
    they leave only if the transaction commits."""

    def __init__(self, source: str, topics: Topics) -> None:
        self.source, self.topics = source, topics

    def add(self, session: AsyncSession, data: EventData, *, subject: str) -> CloudEvent:
        event, rows = self.rows(data, subject=subject)
        session.add_all(OutboxRow(**row) for row in rows)
        return event

    def rows(self, data: EventData, *, subject: str) -> tuple[CloudEvent, list[dict[str, Any]]]:
        """The event as plain rows, one per topic, for one bulk insert of many events."""
        event = CloudEvent.wrap(data, source=self.source, subject=subject)
        payload, now = event.to_bytes(), datetime.now(UTC)
        return event, [
            {"topic": t, "key": subject, "payload": payload, "created_at": now} for t in destinations(self.topics, data)
        ]


class OutboxRelay:
    def __init__(self, sessions: SessionFactory, broker: KafkaBroker, batch_size: int = 2000, idle_seconds: float = 0.5) -> None:
        self.sessions = sessions
        self.broker = broker
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Called after a commit that added rows, so they leave without waiting for a poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):  # best effort: what stays is sent on the next start
            await asyncio.wait_for(self.publish_pending(), timeout=5)

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.publish_pending()
            except Exception:
                log.exception("outbox relay failed; retrying")
                sent = 0
                await asyncio.sleep(self.idle_seconds)
            if sent < self.batch_size:
                await woken_or_idle(self._wake, self.idle_seconds)

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows in order; returns how many left the outbox."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxRow.id, OutboxRow.topic, OutboxRow.key, OutboxRow.payload)
                    .order_by(OutboxRow.id)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        futures = [
            await self.broker.publish(row.payload, row.topic, key=row.key.encode(), headers=CONTENT_TYPE, no_confirm=True)
            for row in rows
        ]
        await asyncio.gather(*futures)
        async with self.sessions() as session, session.begin():
            await session.execute(delete(OutboxRow).where(OutboxRow.id.in_([r.id for r in rows])))
        return len(rows)
