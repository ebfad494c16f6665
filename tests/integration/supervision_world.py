"""A supervision service in one process on SQLite, fed crafted events, with a clock tests move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import select

from services.supervision.adapters.orm import SCHEMA, Alert, PartClock
from services.supervision.domain.ladder import Policy
from services.supervision.entrypoints.consumers import handlers
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.clocks import Clocks
from services.supervision.service_layer.deliveries import DeliveryWatch
from services.supervision.service_layer.scan import LadderScanner
from services.supervision.service_layer.watch import Watcher
from shared.clock import ManualClock
from shared.contracts import (
    Accept,
    Applicant,
    CaseAccepted,
    CaseState,
    CaseSubmitted,
    CloudEvent,
    DepartmentAction,
    EventData,
    PartActionRecorded,
    PartState,
    PartSummary,
)
from shared.db import SessionFactory
from shared.departments import chinese_names, load_departments
from shared.messaging.consumer import BatchConsumer, by_topic
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from shared.workdays import CHINA, WorkingCalendar
from tests.servers import MakeSessions

CALENDAR = WorkingCalendar()
TOPICS = Topics("test")
UNDELIVERED_AFTER = timedelta(hours=2)
DEPARTMENTS = load_departments()
NAMES = chinese_names(DEPARTMENTS)  # what the alerts and notices call each department


class NoDeadLetters:
    async def send(self, *_: Any) -> None:
        raise AssertionError("nothing should be dead-lettered here")


@dataclass
class World:
    sessions: SessionFactory
    clock: ManualClock
    consumer: BatchConsumer
    scanner: LadderScanner
    deliveries: DeliveryWatch
    offset: int = 0

    async def feed(self, *data: EventData, subject: str | None = None, topic: str = TOPICS.case_events) -> list[CloudEvent]:
        """Deliver events as the consumer would get them from Kafka (from the case events unless `topic`
        says which); returns the envelopes."""
        events = [CloudEvent.wrap(d, source="/test/intake", subject=subject or d.case_id) for d in data]  # type: ignore[attr-defined]
        await self.redeliver(events, topic)
        return events

    async def redeliver(self, events: list[CloudEvent], topic: str = TOPICS.case_events) -> None:
        records = []
        for event in events:
            self.offset += 1
            raw = event.to_bytes()
            records.append(ConsumerRecord(topic, 0, self.offset, 0, 0, event.subject.encode(), raw, None, 0, len(raw), ()))
        await self.consumer.handle(records)

    async def at(self, moment: datetime) -> int:
        """Move the clock and let the scanner run until nothing more is due."""
        self.clock.set(moment)
        looked = 0
        while n := await self.scanner.scan_once():  # a batch is one department's
            looked += n
        return looked

    async def alerts(self, work_order_id: str | None = None) -> list[Alert]:
        async with self.sessions() as session:
            query = select(Alert).order_by(Alert.issued_at, Alert.kind)
            if work_order_id:
                query = query.where(Alert.work_order_id == work_order_id)
            return list(await session.scalars(query))

    async def part(self, work_order_id: str) -> PartClock:
        async with self.sessions() as session:
            part = await session.get(PartClock, work_order_id)
            assert part is not None
            return part

    async def outbox(self) -> list[tuple[str, CloudEvent]]:
        async with self.sessions() as session:
            rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
            return [(r.topic, CloudEvent.from_bytes(r.payload)) for r in rows]


async def world(make_sessions: MakeSessions, policy: Policy | None = None, batch_size: int = 100) -> World:
    sessions = await make_sessions(SCHEMA)
    clock = ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    policy = policy or Policy()
    outbox = Outbox("/test/supervision", TOPICS)
    desk = AlertDesk(outbox, NAMES)
    consumed = by_topic(handlers(TOPICS, DEPARTMENTS, Watcher(Clocks(CALENDAR, policy)), clock))
    consumer = BatchConsumer("supervision", sessions, NoDeadLetters(), consumed)  # type: ignore[arg-type]
    scanner = LadderScanner(sessions, desk, CALENDAR, policy, clock, lambda: None, batch_size=batch_size, interval=1)
    deliveries = DeliveryWatch(sessions, outbox, clock, lambda: None, NAMES, undelivered_after=UNDELIVERED_AFTER, interval=1)
    return World(sessions, clock, consumer, scanner, deliveries)


def cst(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment of 2026 in China Standard Time."""
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA)


APPLICANT = Applicant(kind="enterprise", name="杭州味道餐饮管理有限公司", id_number="91330100MA2H000001")


def submitted(
    case_id: str,
    parts: dict[str, int],
    at: datetime,
    *,
    matter: str = "JM-REST-001",
    applicant: Applicant = APPLICANT,
    silence: tuple[str, ...] = (),
) -> CaseSubmitted:
    return CaseSubmitted(
        case_id=case_id,
        center="test",
        matter_code=matter,
        matter_name="餐饮店开业联办",
        lead_department="market",
        applicant=applicant,
        pre_review_days=1,
        overall_days=10,
        staff_id="S-0107",
        submitted_at=at,
        parts=[
            PartSummary(
                work_order_id=f"{case_id}-{d}",
                department=d,
                part_code=f"{d.upper()}-1",
                part_name=d,
                time_limit_days=days,
                silence_means_yes=d in silence,
            )
            for d, days in parts.items()
        ],
    )


def accepted(case: CaseSubmitted, at: datetime) -> CaseAccepted:
    return CaseAccepted(case_id=case.case_id, accepted_at=at, parts=case.parts)


def acted(case_id: str, department: str, action: DepartmentAction, at: datetime, staff_id: str = "staff") -> PartActionRecorded:
    return PartActionRecorded(
        case_id=case_id,
        work_order_id=f"{case_id}-{department}",
        department=department,
        staff_id=staff_id,
        acted_at=at,
        action=action,
        part_state=PartState.HANDLING,  # supervision reads the action, not the state
        case_state=CaseState.HANDLING,
    )


__all__ = ["Accept", "World", "accepted", "acted", "cst", "submitted", "world"]
