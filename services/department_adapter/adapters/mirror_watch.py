"""The adapter of a department on its own Kafka cluster. MirrorMaker 2 carries its work there and its
actions back (deploy/mirror_maker.py), so nothing here asks the department anything; what the center
cannot see by itself is whether the department's system reads what was mirrored. This watches that on
the department's cluster: its system's consumer group against the end of its work topic (the lag), and
the oldest record it has not read, for the bridge's report."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.department_adapter.adapters.connector import BridgeFacts, ConnectorError, News
from services.department_adapter.domain.answer import Answer, item_id, waiting
from shared.clock import Clock
from shared.contracts import CloudEvent, EventData, HandlingStarted, MalformedEvent, SupervisionAlert, WaitingWork, WorkOrder
from shared.messaging.broker import client_security
from shared.periodic import Periodic
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)
OLDEST_SHOWN = 20


class MirrorWatch:
    bridge = "kafka"

    def __init__(self, kafka: KafkaSettings, work_topic: str, group: str, clock: Clock, every_seconds: float) -> None:
        """`kafka`: the department's own cluster, as its principal there; `group`: its system's consumer group."""
        self.work_topic, self.group, self.clock = work_topic, group, clock
        self._facts = BridgeFacts(None, {"group": group, "topic": work_topic, "reachable": False}, waiting=0)
        self._committed: dict[int, int] = {}
        self._options = {"bootstrap_servers": kafka.bootstrap_servers, **client_security(kafka)}
        self._clients: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None  # made in the loop, on first use
        self.watching = Periodic("mirror watch", every_seconds, self._watch)

    async def start(self, news: News) -> None:
        self.watching.start()

    def facts(self) -> BridgeFacts:
        return self._facts

    async def pre_review(self, order: WorkOrder) -> Answer:
        raise ConnectorError("a department on its own Kafka takes its work by the mirror, not from the adapter")

    async def decide(self, work: HandlingStarted) -> Answer:
        raise ConnectorError("a department on its own Kafka takes its work by the mirror, not from the adapter")

    async def notify(self, alert: SupervisionAlert) -> str:
        raise ConnectorError("a department on its own Kafka takes its notices by the mirror, not from the adapter")

    async def close(self) -> None:
        await self.watching.stop()
        if self._clients is not None:
            admin, reader = self._clients
            await reader.stop()
            await admin.close()

    async def _watch(self) -> None:
        """One look; an unreachable cluster is said in the report, and looked at again next time."""
        try:
            if self._clients is None:
                admin = AIOKafkaAdminClient(**self._options)
                reader = AIOKafkaConsumer(**self._options, enable_auto_commit=False, group_id=None)
                await admin.start()
                await reader.start()
                self._clients = admin, reader
            self._facts = await self._look(*self._clients)
        except Exception as exc:
            log.warning("the department's cluster could not be read: %s", exc)
            self._facts = BridgeFacts(
                self._facts.last_contact_at, self._facts.detail | {"reachable": False, "error": str(exc)[:300]}
            )

    async def _look(self, admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer) -> BridgeFacts:
        [described] = await admin.describe_topics([self.work_topic])
        partitions = [TopicPartition(self.work_topic, p["partition"]) for p in described["partitions"]]
        ends = await reader.end_offsets(partitions)
        offsets = await admin.list_consumer_group_offsets(self.group, partitions=partitions)
        committed = {tp.partition: max(offsets[tp].offset, 0) if tp in offsets else 0 for tp in partitions}
        now = self.clock.now()
        moved = committed != self._committed and bool(self._committed or any(committed.values()))
        last_contact = now if moved else self._facts.last_contact_at
        self._committed = committed
        behind = {tp: committed[tp.partition] for tp in partitions if committed[tp.partition] < ends[tp]}
        waiting = [w for tp, offset in behind.items() if (w := await self._unread(reader, tp, offset)) is not None]
        lag = sum(ends[tp] - offset for tp, offset in behind.items())
        detail = {"group": self.group, "topic": self.work_topic, "reachable": True, "lag": lag}
        return BridgeFacts(last_contact, detail, waiting=lag, oldest=sorted(waiting, key=lambda w: w.since)[:OLDEST_SHOWN])

    @staticmethod
    async def _unread(reader: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> WaitingWork | None:
        """The first record the department's system has not read on this partition, as waiting work."""
        reader.assign([tp])
        reader.seek(tp, offset)
        batch = await reader.getmany(tp, timeout_ms=2000, max_records=1)
        for record in batch.get(tp, []):
            since = datetime.fromtimestamp(record.timestamp / 1000, UTC)
            try:
                work: EventData = CloudEvent.from_bytes(record.value).payload()
            except MalformedEvent:
                return None
            key = item_id(work)
            return waiting(key, work.case_id, since) if key is not None and hasattr(work, "case_id") else None
        return None
