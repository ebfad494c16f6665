"""A department's own IT system of the Kafka kind, simulated: it takes its work on its own cluster and
answers there, as docs/integration.md tells a department's system to; MirrorMaker 2 carries both ways
(deploy/department_cluster.py).

It accepts every pre-review, approves every handling and acknowledges every supervision notice; closed
work needs no answer. Each answer is a CloudEvent built and signed as an adapter's outbox does, keyed by
the case id. What it answered it remembers in memory only, so a work item seen again in this process is not
answered twice; its group (`lianban-<center>-adapter-<department>.system`, the one the center's adapter
watches for lag) commits once the answers are written, and an answer's event id is drawn from its work
item, so work read again after a restart is answered with the same id, which the center deduplicates.

    python -m deploy.simulators.kafka_system   # KAFKA_*, LIANBAN_CENTER, LIANBAN_SIM_DEPARTMENT, LIANBAN_SIM_PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.kafka_acls import adapter_group
from services.department_adapter.domain.answer import item_id
from shared.contracts import (
    Accept,
    AlertAcknowledged,
    Approve,
    CloudEvent,
    DepartmentActed,
    EventData,
    HandlingStarted,
    MalformedEvent,
    SupervisionAlert,
    WorkOrder,
)
from shared.messaging.broker import client_security
from shared.settings import KafkaSettings
from shared.signing import Signer
from shared.topics import Topics

log = logging.getLogger(__name__)
HEADERS = [("content-type", b"application/cloudevents+json")]  # as the outbox relay sends


class KafkaSystemSettings(BaseSettings):
    """The department, its center, its key, and its own cluster (KAFKA_*, as every Lianban process reads)."""

    model_config = SettingsConfigDict(env_prefix="LIANBAN_SIM_", extra="ignore")

    department: str
    host: str = "127.0.0.1"
    port: int = 8201
    center: str = Field("demo", validation_alias="LIANBAN_CENTER")
    signing_key: Path | None = Field(None, description="The department's Ed25519 private key (PEM); unsigned without one.")
    signing_key_id: str = Field("", description="The id the center's key registry knows it by.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)


@dataclass(frozen=True)
class Answer:
    """What the system sends for one work item, and where."""

    item: str
    topic: str
    case_id: str
    data: EventData


class KafkaSystem:
    """The consumer of the department's work topic and the producer of its answers, on its own cluster
    (both made in `start`: aiokafka's clients belong to the running event loop)."""

    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer

    def __init__(self, settings: KafkaSystemSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.center)
        self.source = f"/{settings.department}/{settings.center}/approval-system"
        self.signer = Signer.load(settings.signing_key, settings.signing_key_id) if settings.signing_key else None
        self.answered: set[str] = set()
        self.received = 0
        self.serial = itertools.count(1)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        options = {"bootstrap_servers": self.settings.kafka.bootstrap_servers, **client_security(self.settings.kafka)}
        self.producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **options)
        self.consumer = AIOKafkaConsumer(
            self.topics.work(self.settings.department),
            group_id=f"{adapter_group(self.topics, self.settings.department)}.system",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **options,
        )
        await self.producer.start()
        await self.consumer.start()
        self.task = asyncio.create_task(self._run(), name="kafka-system")

    async def stop(self) -> None:
        if self.task is None:
            return
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.consumer.stop()
        await self.producer.stop()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def _run(self) -> None:
        """Read, answer, commit; a batch whose answers could not be written is read again (a failure to read
        at all ends the loop, and /health says so)."""
        while True:
            batch = await self.consumer.getmany(timeout_ms=500)
            if not batch:
                continue
            try:
                await self._answer_all([record for records in batch.values() for record in records])
            except Exception:
                log.exception("answering work failed; reading it again")
                for partition, records in batch.items():
                    self.consumer.seek(partition, records[0].offset)
                await asyncio.sleep(1.0)

    async def _answer_all(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Send the answers to a batch, then commit it; on failure forget them, to answer them again."""
        self.received += len(records)
        answers = [a for a in (self.answer(r.value) for r in records) if a is not None and a.item not in self.answered]
        answers = list({a.item: a for a in answers}.values())  # once each, also within one batch
        self.answered.update(a.item for a in answers)
        try:
            sent = [await self.producer.send(a.topic, self._encode(a), key=a.case_id.encode(), headers=HEADERS) for a in answers]
            await asyncio.gather(*sent)
            await self.consumer.commit()
        except BaseException:
            self.answered.difference_update(a.item for a in answers)
            raise

    def answer(self, raw: bytes | None) -> Answer | None:
        """The answer to one work message, or None for what asks for none (closed work, another department's)."""
        try:
            work = CloudEvent.from_bytes(raw).payload()
        except MalformedEvent as exc:
            log.warning("not a work message: %s", exc)
            return None
        if not isinstance(work, WorkOrder | HandlingStarted | SupervisionAlert) or work.department != self.settings.department:
            return None
        now, staff, department = datetime.now(UTC), f"{work.department.upper()}-SYSTEM", work.department
        item = item_id(work) or ""  # one answer per piece of work, as an adapter's inbox keeps it
        if isinstance(work, SupervisionAlert):
            ack = AlertAcknowledged(
                alert_id=work.alert_id, case_id=work.case_id, department=department, staff_id=staff, acknowledged_at=now
            )
            return Answer(item, self.topics.acknowledgements(department), work.case_id, ack)
        action: Accept | Approve = Accept() if isinstance(work, WorkOrder) else self._approval(now)
        acted = DepartmentActed(
            case_id=work.case_id,
            work_order_id=work.work_order_id,
            department=department,
            staff_id=staff,
            acted_at=now,
            action=action,
        )
        return Answer(item, self.topics.actions(department), work.case_id, acted)

    def _approval(self, now: datetime) -> Approve:
        return Approve(document_number=f"{self.settings.department.upper()}-{now:%Y}-{next(self.serial):06d}")

    def _encode(self, answer: Answer) -> bytes:
        """A CloudEvent, signed as the outbox signs, with an id fixed by the work item (a retry's is the same)."""
        event = CloudEvent.wrap(answer.data, source=self.source, subject=answer.case_id)
        event = event.model_copy(update={"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.source}#{answer.item}"))})
        return self.signer.sign_event(event.model_dump(mode="json")) if self.signer else event.to_bytes()


def build(settings: KafkaSystemSettings | None = None) -> FastAPI:
    system = KafkaSystem(settings or KafkaSystemSettings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await system.start()
        yield
        await system.stop()

    app = FastAPI(title=f"{system.settings.department} department system on Kafka (simulated)", lifespan=lifespan)

    @app.get("/health")
    async def health(response: Response) -> dict[str, str]:
        """ok while the system reads its work; 503 once its loop has stopped."""
        if not system.running:
            response.status_code = 503
            return {"status": "stopped"}
        return {"status": "ok"}

    @app.get("/gov/v1/stats")
    async def stats() -> dict[str, int]:
        """Work messages received, and work items answered (each once)."""
        return {"received": system.received, "answered": len(system.answered)}

    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = KafkaSystemSettings()
    uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
