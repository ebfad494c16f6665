"""How far each department's adapter is behind on its work, for the console's departments and bridges
page: the consumer lag of its group (`lianban-<center>-adapter-<department>`) on its work topic.

Asked of the broker, not of the adapter: an adapter that is down or stuck reports nothing, and that is
when its lag matters. The group's committed offsets need DESCRIBE on the group, which supervision's
principal is granted for the adapters' groups alone (deploy/kafka_acls.py); the topic's offsets need
DESCRIBE on the topic, implied by supervision's WRITE on the work topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.messaging.broker import client_security
from shared.settings import KafkaSettings
from shared.topics import Topics

log = logging.getLogger(__name__)

Lags = dict[str, int | None]  # department -> records its adapter has yet to read; None: the broker could not say


class LagUnknown(Exception):
    """The broker answered, but not with every partition's committed offset."""


class ConsumerLag:
    """Every department's adapter lag, as of at most `max_age` seconds ago: over the partitions of its work
    topic, the end offset minus the group's committed one (minus the beginning, where it committed nothing).

    The page refreshes every few seconds and several operators may look at once: one query serves them
    all, the others wait for it or take its answer. A query takes at most `timeout` seconds; a broker that
    cannot be asked in that time gives None for every department (the page shows 未知), never an
    exception. The clients are made on the first read, in its event loop (aiokafka's need a running one),
    kept for the next reads, and made anew after a failed one; `close()` closes them.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: Topics,
        departments: Iterable[str],
        *,
        timeout: float = 5.0,
        max_age: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`kafka`: the center's cluster as supervision's principal; `departments`: their codes (a
        `Departments` mapping will do)."""
        self.topics, self.departments = topics, tuple(departments)
        self.timeout, self.max_age, self.clock = timeout, max_age, clock
        self._options: dict[str, object] = {
            "bootstrap_servers": kafka.bootstrap_servers,
            "client_id": f"lianban-{topics.center}-supervision-lag",
            "request_timeout_ms": int(timeout * 1000),  # a connection that hangs gives up with the read
            **client_security(kafka),
        }
        self._clients: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None
        self._lock = asyncio.Lock()
        self._last: tuple[float, Lags] | None = None
        self._unknown: set[str] = set()  # departments whose lag was unknown last time: logged once, not every read

    async def read(self) -> Lags:
        """Department -> lag: the last answer if younger than `max_age`, otherwise a new one."""
        if (cached := self._cached()) is not None:
            return cached
        async with self._lock:
            if (cached := self._cached()) is not None:  # another reader asked while this one waited
                return cached
            lags = await self._query()
            self._last = (self.clock(), lags)
            return dict(lags)

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    def _cached(self) -> Lags | None:
        if self._last is not None and self.clock() - self._last[0] < self.max_age:
            return dict(self._last[1])
        return None

    async def _query(self) -> Lags:
        causes: dict[str, str] = {}
        try:
            async with asyncio.timeout(self.timeout):
                lags = await self._ask(*await self._connected(), causes)
        except Exception as exc:  # the broker down, unreachable, too slow, or refusing: unknown, and new clients next time
            cause = f"no answer within {self.timeout:g}s" if isinstance(exc, TimeoutError) else repr(exc)
            lags, causes = dict.fromkeys(self.departments), dict.fromkeys(self.departments, cause)
            await self._drop()
        self._log_changes(lags, causes)
        return lags

    async def _connected(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._clients is None:
            admin = AIOKafkaAdminClient(**self._options)
            reader = AIOKafkaConsumer(**self._options, group_id=None, enable_auto_commit=False)  # of no group: reads offsets only
            try:
                await admin.start()
                await reader.start()
            except BaseException:  # a failure, the timeout or a cancellation: nothing half-started is kept
                await self._close(admin, reader)
                raise
            self._clients = admin, reader
        return self._clients

    async def _ask(self, admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer, causes: dict[str, str]) -> Lags:
        """Each department's end offsets minus its adapter's committed ones, partition by partition."""
        work = {self.topics.work(d): d for d in self.departments}
        # Every topic it may see, then the work topics among them: naming a missing topic in a metadata
        # request would have a broker that auto-creates topics create it.
        described = await admin.describe_topics(None)
        partitions = {
            t["topic"]: [TopicPartition(t["topic"], p["partition"]) for p in t["partitions"]]
            for t in described
            if t["topic"] in work and not t["error_code"] and t["partitions"]
        }
        every = [tp for tps in partitions.values() for tp in tps]
        ends, beginnings = await asyncio.gather(reader.end_offsets(every), reader.beginning_offsets(every))
        committed = await asyncio.gather(
            *(self._committed(admin, work[topic], tps) for topic, tps in partitions.items()), return_exceptions=True
        )
        lags: Lags = dict.fromkeys(self.departments)
        causes.update((d, "the broker shows supervision no such work topic") for t, d in work.items() if t not in partitions)
        for (topic, tps), offsets in zip(partitions.items(), committed, strict=True):
            if isinstance(offsets, BaseException):
                if not isinstance(offsets, Exception):
                    raise offsets  # a cancellation
                causes[work[topic]] = repr(offsets)
                continue
            # From where the group stands, or from the log's beginning if it committed nothing yet (-1)
            # or what it committed was since removed (retention): what is left to read.
            lags[work[topic]] = sum(max(ends[tp] - max(offsets[tp], beginnings[tp]), 0) for tp in tps)
        return lags

    async def _committed(
        self, admin: AIOKafkaAdminClient, department: str, tps: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """The group's committed offset on each partition, -1 where it has none."""
        group = self.topics.adapter_group(department)
        offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
        # A group-level error (its coordinator loading or moving, say) comes as an answer without partitions,
        # which aiokafka returns as if nothing were committed: that would show the whole topic as unread.
        if missing := [tp for tp in tps if tp not in offsets]:
            raise LagUnknown(f"no committed offset of {group} for {len(missing)} of {len(tps)} partitions")
        return {tp: int(offsets[tp].offset) for tp in tps}

    async def _drop(self) -> None:
        """Close the clients: the next read makes new ones."""
        if self._clients is not None:
            clients, self._clients = self._clients, None
            await self._close(*clients)

    async def _close(self, admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer) -> None:
        """Best effort, bounded: closing the clients of a broker that is gone must not hold the page either."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.timeout):
                await asyncio.gather(reader.stop(), admin.close(), return_exceptions=True)

    def _log_changes(self, lags: Lags, causes: dict[str, str]) -> None:
        """A department's lag becoming unknown is logged with its cause once, not at every read."""
        unknown = {d for d, lag in lags.items() if lag is None}
        by_cause: dict[str, list[str]] = {}
        for department in sorted(unknown - self._unknown):
            by_cause.setdefault(causes.get(department, "?"), []).append(department)
        for cause, departments in by_cause.items():  # a broker gone: one line, not one per department
            log.warning("adapter lag of %s unknown: %s", ", ".join(departments), cause)
        if known_again := self._unknown - unknown:
            log.info("adapter lag of %s known again", ", ".join(sorted(known_again)))
        self._unknown = unknown
