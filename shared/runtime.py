"""What every service process runs on: its database, its broker, its outbox relay, its HTTP server."""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import SessionFactory, make_engine, session_factory
from shared.logs import configure
from shared.messaging.admin import ensure_topics
from shared.messaging.broker import make_broker
from shared.messaging.consumer import Apply, BatchConsumer, DeadLetters, by_topic
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.migrations import Schema, migrate
from shared.periodic import Periodic
from shared.settings import ServiceSettings
from shared.signing import Signer
from shared.topics import Topics

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    name: str
    settings: ServiceSettings
    schema: Schema
    engine: AsyncEngine = field(init=False)
    sessions: SessionFactory = field(init=False)
    broker: KafkaBroker = field(init=False)
    relay: OutboxRelay = field(init=False)
    outbox: Outbox = field(init=False)
    topics: Topics = field(init=False)
    dead_letters: DeadLetters = field(init=False)
    uses_topics: set[str] = field(default_factory=set)
    consumers: list[BatchConsumer] = field(default_factory=list)
    watch: Periodic = field(init=False)
    stopping_for: str | None = None  # the consumer whose end stops the process (signalled once)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database(self.name), self.settings.database_pool_size)
        self.sessions = session_factory(self.engine)
        self.broker = make_broker(self.settings.kafka, client_id=f"lianban-{self.name}")
        self.topics = Topics(self.settings.center)
        settings = self.settings
        signer = Signer.load(settings.signing_key, settings.signing_key_id) if settings.signing_key else None
        center_signer = (
            Signer.load(settings.center_signing_key, settings.center_signing_key_id) if settings.center_signing_key else None
        )
        self.outbox = Outbox(f"/lianban/{settings.center}/{self.name}", self.topics, signer, center_signer)
        self.relay = OutboxRelay(self.sessions, self.broker, self.outbox)
        self.dead_letters = DeadLetters(self.broker, self.topics, self.group, self.outbox.source)
        self.watch = Periodic("consumer-watch", 5.0, self.stop_if_a_consumer_stopped, wait_first=True)

    @property
    def group(self) -> str:
        """The consumer group, and the name its processed messages are recorded under."""
        return f"lianban-{self.settings.center}-{self.name}"

    def consume(self, handlers: dict[str, Apply], after_commit: Callable[[], None] | None = None, gather_ms: int = 0) -> None:
        """Read these topics as the service's one consumer group, each topic's events applied by its
        handler in batches, at least once and idempotently (see BatchConsumer); by default what the
        events queued in the outbox leaves at once. Topics are created at start. `gather_ms`: see
        BatchConsumer.subscribe."""
        self.uses_topics.update(handlers)
        consumer = BatchConsumer(
            self.group, self.sessions, self.dead_letters, by_topic(handlers), after_commit=after_commit or self.relay.notify
        )
        consumer.subscribe(self.broker, *handlers, instance=self.settings.instance, gather_ms=gather_ms)
        self.consumers.append(consumer)

    def publishes_to(self, *topics: str) -> None:
        self.uses_topics.update(topics)

    async def start(self) -> None:
        await migrate(self.engine, self.schema)
        await ensure_topics(self.settings.kafka, sorted(self.uses_topics | {self.topics.dead_letters}))
        await self.broker.start()
        self.relay.start()
        self.watch.start()

    async def stop_if_a_consumer_stopped(self) -> None:
        """A consumer that can no longer read would leave its topics' work waiting in silence: the process
        stops instead (gracefully: SIGTERM to itself), and whatever runs it starts it again (compose's
        `restart: unless-stopped`); what was read and not applied is read again, deduplicated."""
        if self.stopping_for is not None:
            return
        for consumer in self.consumers:
            if (error := consumer.stopped()) is not None:
                self.stopping_for = consumer.name
                log.critical("consumer %s can no longer read (%r): stopping the process to be restarted", consumer.name, error)
                signal.raise_signal(signal.SIGTERM)
                return

    async def stop(self) -> None:
        await self.watch.stop()
        for consumer in self.consumers:
            await consumer.committer.close()
        await self.relay.stop()
        await self.broker.stop()
        await self.engine.dispose()


def tune_collector() -> None:
    """Fewer garbage-collector passes: every event builds and drops many small objects (models, rows),
    and with the default thresholds a full pass over every live object runs every ~70,000 allocations.
    What the process built to start is frozen out of the passes altogether. Measured by
    `make bench-supervision`: a third more overdue parts alerted per second."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def serve(app: object, settings: ServiceSettings) -> None:
    configure(settings.log_level, settings.log_format)
    tune_collector()
    # open streams (the console's live screen) would hold a shutdown forever: they get a few seconds
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)  # type: ignore[arg-type]
