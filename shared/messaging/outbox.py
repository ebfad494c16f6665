"""Transactional outbox: a state change and the events it implies commit together.

The relay publishes pending rows in batches (acks=all, many in flight at once) and deletes
them once Kafka has confirmed. A crash between the two republishes the same event ids, which
every consumer deduplicates, so delivery is at-least-once and effectively once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from faststream.kafka import KafkaBroker
from sqlalchemy import Integer, LargeBinary, Row, String, Table, bindparam, delete, event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from shared.contracts.envelope import CloudEvent, EventData
from shared.contracts.events import DeadLetter
from shared.contracts.exchange import CenterMessage
from shared.db import MessagingBase, SessionFactory, UtcDateTime, autocommit
from shared.routing import destinations
from shared.signing import Signer
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

    def __init__(self, source: str, topics: Topics, signer: Signer | None = None, center_signer: Signer | None = None) -> None:
        """`signer` signs every event (a department's adapter); `center_signer` what the center sends other centers."""
        self.source, self.topics, self.signer, self.center_signer = source, topics, signer, center_signer

    def add(self, session: AsyncSession, data: EventData, *, subject: str) -> CloudEvent:
        event, rows = self.rows(data, subject=subject)
        queue(session, rows)
        return event

    def rows(self, data: EventData, *, subject: str) -> tuple[CloudEvent, list[dict[str, Any]]]:
        """The event as plain rows, one per topic, for one bulk insert of many events."""
        event = CloudEvent.wrap(data, source=self.source, subject=subject)
        now = datetime.now(UTC)
        # a department's events carry its signature (shared/signing.py), a center's exchange records the center's,
        # signed before they are serialised once
        signer = self.center_signer if isinstance(data, CenterMessage) else self.signer
        payload = signer.sign_event(event.model_dump(mode="json")) if signer else event.to_bytes()
        return event, [
            {"topic": t, "key": subject, "payload": payload, "created_at": now} for t in destinations(self.topics, data)
        ]


_INSERT_QUEUED = insert(cast(Table, OutboxRow.__table__))
QUEUED = "lianban.outbox"  # session.info: the rows the transaction adds to the outbox, in order


def queue(session: AsyncSession | Session, rows: Iterable[dict[str, Any]]) -> None:
    """The one way rows join the outbox: queued on the transaction, inserted at its commit (`_insert_queued`)
    in the order they were queued, whoever queued them (events, alerts, redriven letters)."""
    session.info.setdefault(QUEUED, []).extend(rows)


@event.listens_for(Session, "before_commit")
def _insert_queued(session: Session) -> None:
    """The transaction's outbox rows as one bulk insert at its commit, in the order they were added: plain
    rows, no objects for the unit of work to track (an event costs a dict, not a mapped instance)."""
    if rows := session.info.pop(QUEUED, None):
        session.execute(_INSERT_QUEUED, rows)


@event.listens_for(Session, "after_transaction_end")
def _forget_queued(session: Session, transaction: SessionTransaction) -> None:
    """A transaction rolled back (or a session closed) takes its queued rows with it."""
    if transaction.parent is None:
        session.info.pop(QUEUED, None)


Pending = Row[int, str, str, bytes]  # id, topic, key, payload
# the relay's statements, built once (see shared/messaging/processed.py)
_PENDING = (
    select(OutboxRow.id, OutboxRow.topic, OutboxRow.key, OutboxRow.payload).order_by(OutboxRow.id).limit(bindparam("limit"))
)
_SENT = delete(OutboxRow).where(OutboxRow.id.in_(bindparam("ids", expanding=True)))
REFUSED = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError, InvalidTopicError)


class OutboxRelay:
    """Publishes the outbox in order. A message the broker refuses for what it is (too large, say) is
    replaced by a dead letter saying why, so it never holds up the rows behind it; any other failure
    leaves the batch to be sent again."""

    def __init__(
        self,
        sessions: SessionFactory,
        broker: KafkaBroker,
        outbox: Outbox,
        batch_size: int = 2000,
        idle_seconds: float = 0.5,
        gather_seconds: float = 0.01,
    ) -> None:
        """`gather_seconds`: a relay woken again within this long of its last batch is busy, and lets the commits
        that follow join the next batch (fewer, fuller requests to the broker and outbox transactions: 8 % less
        CPU per case at saturation); one woken after a quiet spell publishes at once: at a light load a case
        crosses the broker ~8 times one after another, and each crossing waited the gathering."""
        self.sessions = sessions
        self.broker = broker
        self.outbox = outbox
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.gather_seconds = gather_seconds
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
                published = time.monotonic()
                await woken_or_idle(self._wake, self.idle_seconds)
                if time.monotonic() - published < self.gather_seconds:
                    await asyncio.sleep(self.gather_seconds)

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows in order; returns how many left the outbox."""
        async with autocommit(self.sessions) as session:
            rows = (await session.execute(_PENDING, {"limit": self.batch_size})).all()
        if not rows:
            return 0
        sent = [await self._send(row) for row in rows]
        waiting = [(row, s) for row, s in zip(rows, sent, strict=True) if not isinstance(s, BaseException)]
        confirmed = await asyncio.gather(*(s for _, s in waiting), return_exceptions=True)
        failed = {row.id: s for row, s in zip(rows, sent, strict=True) if isinstance(s, BaseException)}
        failed |= {row.id: c for (row, _), c in zip(waiting, confirmed, strict=True) if isinstance(c, BaseException)}
        if retry := [e for e in failed.values() if not isinstance(e, REFUSED)]:
            raise retry[0]
        letters = [r for row in rows if row.id in failed for r in self._refused(row, failed[row.id])]
        # refused rows are replaced by their dead letters in one transaction; else the delete is one statement, run
        # outside a transaction (three round trips fewer a batch, on a server)
        async with self.sessions() if letters else autocommit(self.sessions) as session:
            await session.execute(_SENT, {"ids": [r.id for r in rows]})
            queue(session, letters)
            await session.commit()
        return len(rows)

    async def _send(self, row: Pending) -> asyncio.Future[Any] | BaseException:
        try:
            future: asyncio.Future[Any] = await self.broker.publish(
                row.payload, row.topic, key=row.key.encode(), headers=CONTENT_TYPE, no_confirm=True
            )
            return future
        except REFUSED as exc:  # refused before sending: too large for this client, say
            refused: BaseException = exc
            return refused

    def _refused(self, row: Pending, error: BaseException) -> list[dict[str, Any]]:
        log.error("the broker refused an event for %s: %s; dead-lettered", row.topic, type(error).__name__)
        letter = DeadLetter.of(
            consumer=f"{self.outbox.source} outbox relay",
            error=f"refused by the broker: {type(error).__name__}: {error}",
            topic=row.topic,
            partition=-1,
            offset=-1,
            key=row.key,
            original=row.payload,
        )
        return self.outbox.rows(letter, subject=row.key[:64] or "unknown")[1]
