"""At-least-once batch consumption with idempotent apply and a dead-letter topic.

A batch is decoded, and in one transaction its already-applied events are dropped and the rest
applied together with their processed-message records; the offsets are committed only after that,
in the background (shared/messaging/commits.py). If the batch transaction fails, each event is
retried alone, and an event that keeps failing, like one that cannot be decoded, goes to the
dead-letter topic with its cause, topic, partition and offset: the stream never stops on one bad
message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.message import StreamMessage
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import CloudEvent, EventData, MalformedEvent
from shared.contracts.events import DeadLetter
from shared.db import SessionFactory
from shared.logs import context as log_context
from shared.messaging.commits import Committer, Committing, rewind
from shared.messaging.outbox import CONTENT_TYPE
from shared.messaging.processed import already_processed, claim
from shared.routing import destinations
from shared.topics import Topics

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5  # how long a poll waits for records; it returns as soon as any come
# How long the broker holds a fetch that finds nothing: aiokafka's 500 ms, not longer. Longer halved what a quiet
# system costs the broker (2000 ms: ~210 -> 140-190 ms CPU a second), but while a fetch waits aiokafka sends that
# broker no other, and leaves out of it a partition whose records sat unread for 100 ms (a long batch): that
# partition's next records then wait out the fetch, up to this long on one hop of a case.
FETCH_WAIT_MS = 500
GATHER_BYTES = 64 * 1024  # a consumer that gathers takes records once this much has come, or its wait is over


def _no_blind_sleep_after_an_empty_poll() -> None:
    """FastStream's batch subscriber sleeps its batch timeout again after a poll that found nothing, and a
    record arriving meanwhile waits for that sleep to end: at a steady, low load (every record its own
    batch) up to that much latency at every hop of a case. Here a poll that waited its whole timeout is
    followed by the next at once; one that returned early with nothing (no partitions assigned yet) still
    waits the rest of its timeout, so that the loop never spins."""
    if getattr(BatchSubscriber.get_msg, "lianban_patched", False):
        return

    async def get_msg(self: BatchSubscriber, consumer: Any) -> tuple[ConsumerRecord[Any, Any], ...]:
        began = asyncio.get_running_loop().time()
        timeout = self.batch_timeout_ms / 1000
        polled = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
        if not polled:
            await asyncio.sleep(max(0.0, timeout - (asyncio.get_running_loop().time() - began)))
            return ()
        return tuple(record for records in polled.values() for record in records)

    get_msg.lianban_patched = True  # type: ignore[attr-defined]
    BatchSubscriber.get_msg = get_msg  # type: ignore[method-assign]


_no_blind_sleep_after_an_empty_poll()


@dataclass(frozen=True)
class Delivery:
    """One decoded message and where it came from."""

    record: ConsumerRecord[Any, Any]
    event: CloudEvent
    data: EventData


Apply = Callable[[AsyncSession, list[Delivery]], Awaitable[None]]
E = TypeVar("E", bound=EventData)


@dataclass(frozen=True)
class Origin:
    """Where a message was read, kept so a dead letter can point back at it."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes

    @classmethod
    def of(cls, record: ConsumerRecord[Any, Any]) -> Origin:
        key = record.key.decode(errors="replace") if isinstance(record.key, bytes) else record.key
        return cls(record.topic, record.partition, record.offset, key, record.value or b"")


def by_topic(handlers: dict[str, Apply]) -> Apply:
    """One batch, each topic's deliveries to that topic's handler, in one transaction."""

    async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
        for topic, handler in handlers.items():
            if mine := [d for d in deliveries if d.record.topic == topic]:
                await handler(session, mine)

    return apply


def expect(model: type[E], deliveries: list[Delivery]) -> list[E]:
    """The deliveries' payloads, which must all be `model`: another type does not belong on the
    topic, so the batch fails and the stranger is dead-lettered alone (see BatchConsumer)."""
    strangers = [d for d in deliveries if not isinstance(d.data, model)]
    if strangers:
        raise MalformedEvent(f"{strangers[0].event.type} does not belong on {strangers[0].record.topic}")
    return [d.data for d in deliveries]  # type: ignore[misc]


async def _undecoded(msg: StreamMessage[Any]) -> Any:
    """Every message reaches Lianban's own decoding as it came, whatever its content-type header (or
    none): bad bytes become a dead letter there, never a failure before the handler. The handler gets
    FastStream's message itself as its argument (the broker injects nothing: shared/messaging/broker.py)."""
    return msg


class TransientError(Exception):
    """A failure that says nothing about the message (a busy database, a concurrent update)."""


TRANSIENT = (TransientError, OperationalError, InterfaceError, TimeoutError, ConnectionError)
# PostgreSQL's own "try again": deadlock, serialization, lock or statement timeout, starting up, disk full, read-only
RETRY_STATES = {"40P01", "40001", "55P03", "57014", "57P03", "53100", "25006"}


def transient(exc: BaseException) -> bool:
    """A failure that says nothing about the message: the database or the broker was busy or away."""
    if isinstance(exc, TRANSIENT):
        return True
    driver_error = getattr(exc, "orig", None)
    state = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
    return isinstance(exc, DBAPIError) and state in RETRY_STATES


class DeadLetters:
    """Where a consumer puts what it cannot handle: the center's dead-letter topic for its operators and,
    when the original came from a department's own topic, that department's feedback topic too."""

    def __init__(self, broker: KafkaBroker, topics: Topics, consumer: str, source: str) -> None:
        self.broker, self.topics, self.consumer, self.source = broker, topics, consumer, source

    def letter(self, origin: Origin, error: str) -> DeadLetter:
        return DeadLetter.of(
            consumer=self.consumer,
            error=error,
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            key=origin.key,
            original=origin.value,
            department=self.topics.sender(origin.topic),
        )

    async def send(self, origin: Origin, error: str) -> None:
        """Publish and wait for Kafka's acknowledgement before the offset may be committed."""
        letter = self.letter(origin, error)
        event = CloudEvent.wrap(letter, source=self.source, subject=(origin.key or "unknown")[:64])
        for topic in destinations(self.topics, letter):
            await self.broker.publish(event.to_bytes(), topic, key=event.subject.encode(), headers=CONTENT_TYPE)
        with log_context(case_id=origin.key):
            log.warning("dead-lettered %s[%s]@%s: %s", origin.topic, origin.partition, origin.offset, error)


class BatchConsumer:
    def __init__(
        self,
        name: str,
        sessions: SessionFactory,
        dead_letters: DeadLetters,
        apply: Apply,
        *,
        after_commit: Callable[[], None] | None = None,
        attempts: int = 3,
        redeliveries: int = 20,
    ) -> None:
        self.name = name
        self.sessions = sessions
        self.dead_letters = dead_letters
        self.apply = apply
        self.after_commit = after_commit or (lambda: None)
        self.attempts = attempts
        self.redeliveries = redeliveries
        self.committer = Committer()
        self.subscriber: object | None = None  # FastStream's, once subscribed
        self._transient_failures: dict[str, int] = {}  # event id -> batches redelivered because of it

    def subscribe(
        self, broker: KafkaBroker, *topics: str, instance: str | None, max_records: int = 500, gather_ms: int = 0
    ) -> None:
        """Register on the broker: a consumer group of its own, acks only after handling. Given an
        instance name, the member is static (KIP-345): restarted under the same name, it takes its
        partitions back at once instead of waiting for the group to time the old member out.

        `gather_ms`: how long the broker may hold records back to hand over a fuller batch, for a consumer
        no one waits on: a batch costs about the same whether it holds one event or fifty."""

        self.subscriber = broker.subscriber(
            *topics,
            group_id=self.name,
            group_instance_id=f"{self.name}-{instance}" if instance else None,
            batch=True,
            max_records=max_records,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,  # committed by the committer, rewound on failure (below)
            session_timeout_ms=10000,
            fetch_max_wait_ms=gather_ms or FETCH_WAIT_MS,
            fetch_min_bytes=GATHER_BYTES if gather_ms else 1,
            heartbeat_interval_ms=1000,
            batch_timeout_ms=int(POLL_SECONDS * 1000),
            title=self.name,
            decoder=_undecoded,
        )

        @self.subscriber
        async def on_batch(msg: KafkaMessage) -> None:
            consumer = cast(Committing, msg.consumer)  # aiokafka's
            try:
                await self.handle(msg.raw_message)
            except BaseException:
                rewind(consumer, msg.raw_message)
                raise
            self.committer.applied(consumer, msg.raw_message)

    def stopped(self) -> BaseException | None:
        """The error that ended this member's group coordination, if one did: aiokafka's consumer then fails
        every poll for good and reads nothing more (aio-libs/aiokafka#1038 was one such error), so the
        runtime stops the process to be restarted (shared/runtime.py)."""
        consumer = getattr(self.subscriber, "consumer", None) if self.subscriber else None
        task = getattr(getattr(consumer, "_coordinator", None), "_coordination_task", None)
        if not isinstance(task, asyncio.Task) or not task.done() or task.cancelled():
            return None
        return task.exception()

    async def handle(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        with log_context(consumer=self.name):
            await self._handle(records)

    async def _handle(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        unique: dict[str, Delivery] = {}
        for record in records:
            if (decoded := await self._decode(record)) is not None:
                unique.setdefault(decoded.event.id, decoded)  # an event sent twice in a batch: once
        deliveries = list(unique.values())
        if not deliveries:
            return
        try:
            applied = await self._apply(deliveries)
        except Exception:
            log.exception("batch of %d failed; applying one by one", len(deliveries))
            for delivery in deliveries:
                with log_context(case_id=delivery.event.subject, event_id=delivery.event.id):
                    await self._apply_alone(delivery)
            applied = True
        if applied:
            self.after_commit()

    async def _decode(self, record: ConsumerRecord[Any, Any]) -> Delivery | None:
        try:
            event = CloudEvent.from_bytes(record.value)
            return Delivery(record, event, event.payload())
        except MalformedEvent as exc:
            await self.dead_letters.send(Origin.of(record), f"malformed message: {exc}")
            return None

    async def _apply(self, deliveries: list[Delivery]) -> bool:
        """In one transaction, the deliveries not applied before (a redelivered batch), applied and recorded
        as processed; whether there were any."""
        async with self.sessions() as session, session.begin():
            claimed = await claim(session, self.name, (d.event.id for d in deliveries))
            fresh = [d for d in deliveries if d.event.id in claimed]
            if not fresh:
                return False
            await self.apply(session, fresh)
            return True

    async def _apply_alone(self, delivery: Delivery) -> None:
        """Retry one event; one that keeps failing is dead-lettered, unless the failure is transient:
        then the batch is left uncommitted and Kafka delivers it again, in order."""
        for attempt in range(1, self.attempts + 1):
            try:
                await self._apply([delivery])
                self._transient_failures.pop(delivery.event.id, None)
                return
            except Exception as exc:
                if await self._done_elsewhere(delivery):
                    return
                if attempt == self.attempts:
                    if transient(exc) and self._redeliver(delivery):
                        raise
                    await self.dead_letters.send(Origin.of(delivery.record), f"{type(exc).__name__}: {exc}")
                    self._transient_failures.pop(delivery.event.id, None)
                    return
                await asyncio.sleep(0.2 * attempt)

    def _redeliver(self, delivery: Delivery) -> bool:
        """Whether a transient failure may have the batch delivered again: capped, so that a message
        that always fails the same "transient" way cannot stop the partition forever. Only failures
        while the database answers are counted: when it is away, the check in `_done_elsewhere` fails
        first and the batch comes again uncounted, so an outage never dead-letters good events."""
        failures = self._transient_failures[delivery.event.id] = self._transient_failures.get(delivery.event.id, 0) + 1
        if failures <= self.redeliveries:
            log.warning("transient failure %d of %d; the batch will be delivered again", failures, self.redeliveries)
            return True
        return False

    async def _done_elsewhere(self, delivery: Delivery) -> bool:
        async with self.sessions() as session:
            return bool(await already_processed(session, self.name, [delivery.event.id]))
