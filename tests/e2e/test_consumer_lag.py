"""Supervision's view of each department's adapter lag on its work topic (services/supervision/adapters/
consumer_lag.py), on the real broker as supervision's own principal: what the adapter's group has yet to
read, partition by partition; everything, for a group that never committed; unknown, never an exception,
for a broker that refuses, is gone or does not answer. A center of its own on the suite's broker, its
ACLs granted as the launcher grants them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from unittest.mock import AsyncMock, patch

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from deploy.kafka_acls import ADMIN, Operation, adapter_group, apply, department_principal, plan
from deploy.kafka_local import KafkaAccess, LocalKafka
from deploy.ports import free_port
from services.supervision.adapters.consumer_lag import ConsumerLag
from shared.messaging.admin import ensure_topics
from shared.settings import KafkaSettings
from shared.topics import Topics

pytestmark = pytest.mark.e2e

DEPARTMENTS = ("tax", "fire", "police")  # tax's adapter is part-way, fire's never committed, police has no work yet


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def new_center(kafka: KafkaAccess, *, describe: bool = True) -> Topics:
    """A center of its own with its work topics, as supervision creates them at start; its ACLs granted
    (less supervision's DESCRIBE on the adapters' groups, if so asked) where the broker is ours."""
    topics = Topics(f"lag{uuid.uuid4().hex[:8]}")
    if kafka.provisioned:
        bindings = [b for b in plan(topics.center, DEPARTMENTS) if describe or b.operation is not Operation.DESCRIBE]
        await apply(kafka.settings(ADMIN), bindings)  # `grant`, when describe
    await ensure_topics(kafka.settings("supervision"), [topics.work(d) for d in DEPARTMENTS], ready_within=10)
    return topics


@pytest.fixture(scope="module")
def topics(kafka: KafkaAccess) -> Topics:
    return asyncio.run(new_center(kafka))


@asynccontextmanager
async def closed_after(lag: ConsumerLag) -> AsyncIterator[ConsumerLag]:
    try:
        yield lag
    finally:
        await lag.close()


async def produce(kafka: KafkaAccess, topic: str, counts: dict[int, int]) -> None:
    """So many records to each partition, as intake sends work."""
    producer = AIOKafkaProducer(**kafka.client_options("intake"), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for partition, count in counts.items():
            for i in range(count):
                await producer.send_and_wait(topic, f"work-{partition}-{i}".encode(), partition=partition)
    finally:
        await producer.stop()


async def read_and_commit(kafka: KafkaAccess, topics: Topics, department: str, tp: TopicPartition, count: int) -> None:
    """The department's adapter (its principal, its group) reads `count` records of a partition and commits."""
    consumer = AIOKafkaConsumer(
        **kafka.client_options(department_principal(department)),
        group_id=adapter_group(topics, department),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        read = 0
        deadline = time.monotonic() + 10
        while read < count and time.monotonic() < deadline:
            read += len((await consumer.getmany(tp, timeout_ms=500, max_records=count - read)).get(tp, []))
        assert read == count
        await consumer.commit()
        assert await consumer.committed(tp) == count
    finally:
        await consumer.stop()


async def test_the_lag_is_what_each_adapter_has_yet_to_read(kafka: KafkaAccess, topics: Topics) -> None:
    tax, fire = topics.work("tax"), topics.work("fire")
    await produce(kafka, tax, {0: 6, 1: 4})
    await produce(kafka, fire, {0: 2, 3: 1})
    await read_and_commit(kafka, topics, "tax", TopicPartition(tax, 0), 4)  # 2 left there, and all 4 of partition 1
    clock = Clock()
    async with closed_after(ConsumerLag(kafka.settings("supervision"), topics, (*DEPARTMENTS, "nosuch"), clock=clock)) as lag:
        began = time.monotonic()
        assert await lag.read() == {"tax": 6, "fire": 3, "police": 0, "nosuch": None}  # nosuch: no work topic
        print(f"first read (clients made) in {time.monotonic() - began:.2f}s")

        await produce(kafka, fire, {2: 1})
        assert await lag.read() == {"tax": 6, "fire": 3, "police": 0, "nosuch": None}  # the answer of a moment ago
        clock.now += 5
        began = time.monotonic()
        assert await lag.read() == {"tax": 6, "fire": 4, "police": 0, "nosuch": None}
        print(f"second read in {time.monotonic() - began:.2f}s")

        clock.now += 5
        with patch.object(lag, "_ask", wraps=lag._ask) as ask:
            answers = await asyncio.gather(*(lag.read() for _ in range(5)))  # operators looking at once
        assert ask.await_count == 1
        assert answers == [answers[0]] * 5

    admin = AIOKafkaAdminClient(**kafka.client_options("supervision"))
    await admin.start()
    try:
        assert topics.work("nosuch") not in await admin.list_topics()  # asking did not create it
    finally:
        await admin.close()


async def test_an_answer_without_the_groups_offsets_is_unknown_not_everything_unread(kafka: KafkaAccess, topics: Topics) -> None:
    """A group-level error of OffsetFetch (its coordinator loading or moving) comes without partitions, which
    aiokafka returns as an empty answer, as for a group that committed nothing: it must not read as a full lag."""
    empty = AsyncMock(return_value={})
    async with closed_after(ConsumerLag(kafka.settings("supervision"), topics, DEPARTMENTS)) as lag:
        with patch.object(AIOKafkaAdminClient, "list_consumer_group_offsets", empty):
            assert await lag.read() == dict.fromkeys(DEPARTMENTS)
    assert empty.await_count == len(DEPARTMENTS)


@pytest.fixture(scope="module")
def own_kafka(kafka: KafkaAccess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaAccess]:
    """A broker whose ACLs are ours: the suite's, or (on someone else's cluster, whose ACLs are its operator's)
    a local one of this module's own. Never a skip."""
    if kafka.provisioned:
        yield kafka
        return
    broker = LocalKafka(workdir=tmp_path_factory.mktemp("own-kafka"))
    try:
        yield broker.start()
    finally:
        broker.stop()


async def test_without_describe_on_the_adapters_groups_supervision_gets_unknown(own_kafka: KafkaAccess) -> None:
    """The grant is needed (FindCoordinator and OffsetFetch answer GROUP_AUTHORIZATION_FAILED), and a refusal
    is shown as unknown, not as an exception nor as a lag of everything."""
    topics = await new_center(own_kafka, describe=False)
    await produce(own_kafka, topics.work("tax"), {0: 2})
    async with closed_after(ConsumerLag(own_kafka.settings("supervision"), topics, DEPARTMENTS)) as lag:
        assert await lag.read() == dict.fromkeys(DEPARTMENTS)


async def test_a_broker_that_is_gone_gives_unknown_at_once() -> None:
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")  # nothing listens there
    async with closed_after(ConsumerLag(kafka, Topics("gone"), DEPARTMENTS, timeout=3, max_age=0)) as lag:
        for _ in range(2):  # and again on the next look, with new clients
            began = time.monotonic()
            assert await lag.read() == dict.fromkeys(DEPARTMENTS)
            assert time.monotonic() - began < 3


async def test_a_broker_that_never_answers_gives_unknown_within_the_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")
        async with closed_after(ConsumerLag(kafka, Topics("hung"), DEPARTMENTS, timeout=1, max_age=0)) as lag:
            began = time.monotonic()
            assert await lag.read() == dict.fromkeys(DEPARTMENTS)
            assert 0.9 < time.monotonic() - began < 2.5
        assert accepted  # it did connect, and waited for an answer
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
