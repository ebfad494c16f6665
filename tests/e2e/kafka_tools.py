"""Reading and writing topics directly, as an operator or a department's own client would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.contracts import CloudEvent


class TopicReader:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def events(self, topic: str, until: Callable[[list[CloudEvent]], bool], timeout: float = 30.0) -> list[CloudEvent]:
        """Every event on the topic from the beginning, read until `until` holds or time runs out."""
        return [CloudEvent.from_bytes(v) for v in self.raw(topic, lambda vs: until(_events(vs)), timeout)]

    def raw(self, topic: str, until: Callable[[list[bytes]], bool], timeout: float = 30.0) -> list[bytes]:
        return asyncio.run(self._read(topic, until, timeout))

    async def _read(self, topic: str, until: Callable[[list[bytes]], bool], timeout: float) -> list[bytes]:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
        )
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

    def produce(self, topic: str, value: bytes, key: bytes | None = None) -> Any:
        async def send() -> Any:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, enable_idempotence=True)
            await producer.start()
            try:
                return await producer.send_and_wait(topic, value, key=key)
            finally:
                await producer.stop()

        return asyncio.run(send())


def _events(values: list[bytes]) -> list[CloudEvent]:
    return [CloudEvent.from_bytes(v) for v in values]
