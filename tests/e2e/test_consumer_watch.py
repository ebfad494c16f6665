"""A consumer that can no longer read stops its process, to be restarted (shared/runtime.py): aiokafka's
group coordination can end on an error it does not expect (aio-libs/aiokafka#1038 was one), after which
every poll fails and the consumer's topics wait in silence. On the suite's broker, as the admin principal,
a service's runtime with one consumer: healthy, it is left alone; with its coordination ended, the runtime
signals itself to stop, once."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import pytest
from aiokafka.consumer.group_coordinator import GroupCoordinator
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.kafka_acls import ADMIN
from deploy.kafka_local import KafkaAccess
from services.gateway.adapters.orm import SCHEMA
from shared.messaging.consumer import BatchConsumer, Delivery
from shared.runtime import Runtime
from shared.settings import ServiceSettings

pytestmark = pytest.mark.e2e


async def nothing(_session: AsyncSession, _deliveries: list[Delivery]) -> None:
    pass


def runtime(kafka: KafkaAccess, workdir: Path) -> Runtime:
    center = f"watch{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(
        center=center, kafka=kafka.settings(ADMIN), database_url=f"sqlite+aiosqlite:///{workdir}/{center}.db"
    )
    watched = Runtime("gateway", settings, SCHEMA)
    watched.consume({watched.topics.case_events: nothing})
    return watched


async def assigned(consumer: BatchConsumer, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not getattr(consumer.subscriber, "consumer", None) or not consumer.subscriber.consumer.assignment():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the consumer was never assigned its partitions"
        await asyncio.sleep(0.2)


async def test_a_consumer_that_reads_is_left_alone(kafka: KafkaAccess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signals: list[int] = []
    monkeypatch.setattr(signal, "raise_signal", signals.append)
    watched = runtime(kafka, tmp_path)
    await watched.start()
    try:
        await assigned(watched.consumers[0])
        await watched.stop_if_a_consumer_stopped()
        assert watched.consumers[0].stopped() is None
        assert signals == []
    finally:
        await watched.stop()


async def test_a_consumer_whose_coordination_ended_stops_the_process_once(
    kafka: KafkaAccess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    find_coordinator, failing = GroupCoordinator.ensure_coordinator_known, False

    async def ensure_coordinator_known(coordinator: GroupCoordinator) -> None:
        if failing:  # what uvloop raised before shared/messaging/broker.py patched aiokafka's writes
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")
        await find_coordinator(coordinator)

    signals: list[int] = []
    monkeypatch.setattr(signal, "raise_signal", signals.append)
    monkeypatch.setattr(GroupCoordinator, "ensure_coordinator_known", ensure_coordinator_known)
    watched = runtime(kafka, tmp_path)
    await watched.start()
    try:
        consumer = watched.consumers[0]
        await assigned(consumer)
        failing = True
        consumer.subscriber.consumer._coordinator.request_rejoin()  # type: ignore[attr-defined]  # its next round fails
        deadline = time.monotonic() + 30
        while consumer.stopped() is None:
            assert time.monotonic() < deadline, "the coordination never ended"
            await asyncio.sleep(0.2)
        assert "TCPTransport closed" in repr(consumer.stopped())
        await watched.stop_if_a_consumer_stopped()
        await watched.stop_if_a_consumer_stopped()
        assert signals == [signal.SIGTERM]
        assert watched.stopping_for == consumer.name
    finally:
        failing = False
        await watched.stop()
