"""How a Lianban consumer polls (shared/messaging/consumer.py): a poll that waited its whole timeout for
nothing is followed by the next at once, so a record arriving just after is read at once, not after a
blind sleep; a poll that came back early with nothing (no partitions yet) waits out its timeout, so the
loop never spins; records come back in one tuple."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka.subscriber.usecase import BatchSubscriber

import shared.messaging.consumer  # noqa: F401  (patches the batch subscriber's poll on import)

real_sleep = asyncio.sleep


class Consumer:
    def __init__(self, wait: float, records: dict[TopicPartition, list[Any]]) -> None:
        self.wait, self.records = wait, records

    async def getmany(self, timeout_ms: int, max_records: int | None) -> dict[TopicPartition, list[Any]]:
        await real_sleep(self.wait)
        return self.records


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return slept


SUBSCRIBER = SimpleNamespace(batch_timeout_ms=50, max_records=500)


async def test_a_poll_that_waited_for_nothing_is_followed_by_the_next_at_once(sleeps: list[float]) -> None:
    assert await BatchSubscriber.get_msg(SUBSCRIBER, Consumer(wait=0.06, records={})) == ()  # type: ignore[arg-type]
    assert sleeps == [0.0]


async def test_a_poll_that_came_back_early_with_nothing_waits_out_its_timeout(sleeps: list[float]) -> None:
    assert await BatchSubscriber.get_msg(SUBSCRIBER, Consumer(wait=0, records={})) == ()  # type: ignore[arg-type]
    (slept,) = sleeps
    assert 0 < slept <= 0.05  # the rest of the 50 ms


async def test_records_of_every_partition_come_back_together(sleeps: list[float]) -> None:
    def record(partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
        return ConsumerRecord("t", partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])

    polled = {TopicPartition("t", 0): [record(0, 1), record(0, 2)], TopicPartition("t", 1): [record(1, 7)]}
    got = await BatchSubscriber.get_msg(SUBSCRIBER, Consumer(wait=0, records=polled))  # type: ignore[arg-type]
    assert [(r.partition, r.offset) for r in got] == [(0, 1), (0, 2), (1, 7)]
    assert sleeps == []
