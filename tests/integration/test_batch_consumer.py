"""Consumption is at-least-once and idempotent; a bad message is dead-lettered, never blocking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts import Approve, CloudEvent, DepartmentActed
from shared.messaging.consumer import BatchConsumer, Delivery, Origin
from tests.servers import MakeSessions


class Base(DeclarativeBase):
    pass


class Seen(Base):
    __tablename__ = "seen"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(String(50))


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: list[tuple[Origin, str]] = []

    async def send(self, record: Origin, error: str) -> None:
        self.letters.append((record, error))


def record(value: bytes, offset: int) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord("lianban.test.actions.tax", 0, offset, 0, 0, b"LB1", value, None, 3, len(value), ())


def result_event(work_order_id: str) -> bytes:
    data = DepartmentActed(
        work_order_id=work_order_id,
        case_id="LB1",
        department="tax",
        staff_id="T-01",
        acted_at=datetime.now(UTC),
        action=Approve(document_number="T-1"),
    )
    return CloudEvent.wrap(data, source="/test", subject="LB1").to_bytes()


async def remember(session: AsyncSession, deliveries: list[Delivery]) -> None:
    session.add_all(Seen(work_order_id=d.data.work_order_id) for d in deliveries)  # type: ignore[attr-defined]


@pytest.fixture
async def parts(make_sessions: MakeSessions) -> tuple[BatchConsumer, FakeDeadLetters]:
    sessions = await make_sessions(Base.metadata)
    letters = FakeDeadLetters()
    return BatchConsumer("test", sessions, letters, remember), letters  # type: ignore[arg-type]


async def count_seen(consumer: BatchConsumer) -> int:
    async with consumer.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Seen)) or 0)


async def test_a_redelivered_batch_is_applied_once(parts: tuple[BatchConsumer, FakeDeadLetters]) -> None:
    consumer, _ = parts
    batch = [record(result_event("LB1-tax"), 0), record(result_event("LB2-tax"), 1)]
    await consumer.handle(batch)
    await consumer.handle(batch)  # the offsets were not committed before a crash
    assert await count_seen(consumer) == 2


async def test_a_malformed_message_is_dead_lettered_with_its_origin_and_the_rest_applied(
    parts: tuple[BatchConsumer, FakeDeadLetters],
) -> None:
    consumer, letters = parts
    await consumer.handle([record(b"{oops", 7), record(result_event("LB3-tax"), 8)])
    assert await count_seen(consumer) == 1
    [(bad, error)] = letters.letters
    assert (bad.topic, bad.partition, bad.offset) == ("lianban.test.actions.tax", 0, 7)
    assert "malformed" in error


async def test_an_event_that_keeps_failing_is_dead_lettered_after_retries(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(Base.metadata)
    letters = FakeDeadLetters()
    calls: list[int] = []

    async def fragile(session: AsyncSession, deliveries: list[Delivery]) -> None:
        calls.append(len(deliveries))
        if any(d.data.work_order_id == "LB-poison" for d in deliveries):  # type: ignore[attr-defined]
            raise RuntimeError("cannot apply")
        await remember(session, deliveries)

    consumer = BatchConsumer("test", sessions, letters, fragile, attempts=2)  # type: ignore[arg-type]
    await consumer.handle([record(result_event("LB-ok"), 0), record(result_event("LB-poison"), 1)])
    assert await count_seen(consumer) == 1
    assert [e for _, e in letters.letters] == ["RuntimeError: cannot apply"]
    assert calls == [2, 1, 1, 1]  # the batch, then each alone; the poison twice


async def test_a_transient_failure_is_redelivered_not_dead_lettered(make_sessions: MakeSessions) -> None:
    from shared.messaging.consumer import TransientError

    sessions = await make_sessions(Base.metadata)
    letters = FakeDeadLetters()

    async def busy(session: AsyncSession, deliveries: list[Delivery]) -> None:
        raise TransientError("database busy")

    consumer = BatchConsumer("test", sessions, letters, busy, attempts=2)  # type: ignore[arg-type]
    with pytest.raises(TransientError):
        await consumer.handle([record(result_event("LB-busy"), 0)])
    assert letters.letters == []  # the offset is not committed: Kafka delivers the batch again


async def test_a_message_that_always_fails_transiently_is_dead_lettered_after_the_cap(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(Base.metadata)
    letters = FakeDeadLetters()

    async def stuck(session: AsyncSession, deliveries: list[Delivery]) -> None:
        raise TimeoutError("never answers")

    consumer = BatchConsumer("test", sessions, letters, stuck, attempts=1, redeliveries=2)  # type: ignore[arg-type]
    batch = [record(result_event("LB-stuck"), 5)]
    for _ in range(2):  # Kafka delivers the batch again, twice
        with pytest.raises(TimeoutError):
            await consumer.handle(batch)
    await consumer.handle(batch)  # the third time it gives up on the message, not on the partition
    [(origin, error)] = letters.letters
    assert (origin.offset, error) == (5, "TimeoutError: never answers")


async def test_an_event_sent_twice_in_a_failing_batch_is_tried_and_dead_lettered_once(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(Base.metadata)
    letters = FakeDeadLetters()
    tried: list[str] = []

    async def poisoned(session: AsyncSession, deliveries: list[Delivery]) -> None:
        tried.extend(d.event.id for d in deliveries)
        raise RuntimeError("cannot apply")

    consumer = BatchConsumer("test", sessions, letters, poisoned, attempts=1)  # type: ignore[arg-type]
    event = result_event("LB-twice")  # the relay published it again before it could delete its row
    await consumer.handle([record(event, 3), record(event, 4)])
    assert len(tried) == 2  # the batch (one copy), then that copy alone
    assert [(origin.offset, error) for origin, error in letters.letters] == [(3, "RuntimeError: cannot apply")]
