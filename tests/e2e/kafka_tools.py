"""Reading and writing topics directly, as an operator or a department's own client would."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contracts import CloudEvent, MalformedEvent
from shared.messaging.broker import client_security
from shared.settings import KafkaSettings


class TopicReader:
    """As the given principal (the tests use the admin's: an operator's view of every topic)."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.options: dict[str, Any] = {"bootstrap_servers": kafka.bootstrap_servers, **client_security(kafka)}

    def events(self, topic: str, until: Callable[[list[CloudEvent]], bool], timeout: float = 30.0) -> list[CloudEvent]:
        """Every event on the topic from the beginning, read until `until` holds or time runs out
        (what is no CloudEvent at all, poison a test sent, is passed over)."""
        return _events(self.raw(topic, lambda vs: until(_events(vs)), timeout))

    def raw(self, topic: str, until: Callable[[list[bytes]], bool], timeout: float = 30.0) -> list[bytes]:
        return asyncio.run(self._read(topic, until, timeout))

    async def _read(self, topic: str, until: Callable[[list[bytes]], bool], timeout: float) -> list[bytes]:
        consumer = AIOKafkaConsumer(topic, **self.options, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
        await consumer.start()
        values: list[bytes] = []
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=300)
                values += [r.value for records in batch.values() for r in records]
                if until(values):
                    break
        finally:
            await consumer.stop()
        return values

    def produce(self, topic: str, value: bytes, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None) -> Any:
        """As any Kafka client would: no content-type header unless given."""

        async def send() -> Any:
            producer = AIOKafkaProducer(**self.options, enable_idempotence=True, max_request_size=8 * 1024 * 1024)
            await producer.start()
            try:
                return await producer.send_and_wait(topic, value, key=key, headers=headers)
            finally:
                await producer.stop()

        return asyncio.run(send())

    def allow_messages_of(self, topic: str, max_bytes: int) -> None:
        """Raise one topic's size limit, as an operator may have."""

        async def alter() -> None:
            admin = AIOKafkaAdminClient(**self.options)
            await admin.start()
            try:
                await admin.alter_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(max_bytes)})]
                )
            finally:
                await admin.close()

        asyncio.run(alter())

    def commits(self, group_prefix: str) -> dict[str, tuple[int, int]]:
        """Per consumer group whose name starts with the prefix: how many records it has committed as read,
        and how many of the same partitions lie past its commit (its lag, as `kafka-consumer-groups` shows it)."""

        async def read() -> dict[str, tuple[int, int]]:
            admin = AIOKafkaAdminClient(**self.options)
            ends = AIOKafkaConsumer(**self.options, enable_auto_commit=False, group_id=None)
            await admin.start()
            await ends.start()
            try:
                found: dict[str, tuple[int, int]] = {}
                for group, _ in await admin.list_consumer_groups():
                    if group.startswith(group_prefix):
                        committed = await admin.list_consumer_group_offsets(group)
                        end = await ends.end_offsets(list(committed))
                        done = sum(meta.offset for meta in committed.values())
                        found[group] = (done, sum(end[tp] for tp in committed) - done)
                return found
            finally:
                await ends.stop()
                await admin.close()

        return asyncio.run(read())


@asynccontextmanager
async def producer(options: dict[str, Any]) -> AsyncIterator[AIOKafkaProducer]:
    """A producer as a service's is: every write acknowledged by all replicas, idempotent, sent at once."""
    client = AIOKafkaProducer(**options, acks="all", enable_idempotence=True, linger_ms=0)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


def _events(values: list[bytes]) -> list[CloudEvent]:
    events = []
    for value in values:
        with contextlib.suppress(MalformedEvent):
            events.append(CloudEvent.from_bytes(value))
    return events
