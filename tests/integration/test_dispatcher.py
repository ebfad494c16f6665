"""The dispatcher chases answers from a department system: asked as soon as work arrives, asked
again with capped exponential backoff while the system fails, politely later while it is still
deciding, and given up on (dead-lettered, with where the work was read) after the last attempt.

The real Dispatcher runs its loops against a fake department system; time is a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from sqlalchemy import select

from services.department_adapter.adapters.connector import BridgeFacts, ConnectorError, News, WorkRefused
from services.department_adapter.adapters.orm import SCHEMA, InboxItem, WorkStatus
from services.department_adapter.domain.answer import Answer, NotYetDecided
from services.department_adapter.service_layer.accept import AcceptWork, inbox_key
from services.department_adapter.service_layer.dispatch import Dispatcher
from services.department_adapter.service_layer.report import BridgeReporter
from shared.clock import ManualClock
from shared.contracts import (
    Accept,
    AlertAcknowledged,
    Applicant,
    Approve,
    CloudEvent,
    DeadLetter,
    DepartmentActed,
    EventData,
    HandlingStarted,
    SupervisionAlert,
    WorkOrder,
    WorkReceived,
)
from shared.db import SessionFactory
from shared.messaging.consumer import DeadLetters, Delivery
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from tests.servers import MakeSessions

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TOPICS = Topics("test")
DEPARTMENT = "fire"
ATTEMPTS, BACKOFF, MAX_BACKOFF, POLL = 5, 0.5, 2.0, 30.0
APPLICANT = Applicant(kind="enterprise", name="杭州味道餐饮管理有限公司", id_number="91330100MA2H000001")
T = TypeVar("T")
E = TypeVar("E", bound=EventData)


def seconds(s: float) -> timedelta:
    return timedelta(seconds=s)


class CountingClock(ManualClock):
    """A manual clock that counts how often it is read, so a test can tell the dispatcher has looked."""

    reads = 0

    def now(self) -> datetime:
        self.reads += 1
        return super().now()


class FakeDepartmentSystem:
    """A department system as the dispatcher sees it: answers, fails as told, or is still deciding."""

    bridge = "http"

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.asked_at: list[datetime] = []
        self.troubles: list[Exception] = []  # raised one per call, before answering again
        self.down = False  # fails every call
        self.deciding = False  # decide() says NotYetDecided
        self.answering: asyncio.Event | None = None  # when set: decide() answers only once it is set
        self.review = Answer(Accept(opinion="材料齐全"), "FIRE-STAFF-07")
        self.decision = Answer(Approve(document_number="FIRE-2026-000001"), "FIRE-STAFF-08")
        self.duty_officer = "FIRE-DUTY-01"
        self.notices: list[SupervisionAlert] = []

    def fail(self, times: int) -> None:
        self.troubles += [ConnectorError(f"department system: 503 Service Unavailable (#{n})") for n in range(1, times + 1)]

    def _called(self) -> None:
        self.asked_at.append(self.clock.now())
        if self.down:
            raise ConnectorError("department system: ClientConnectorError: connection refused")
        if self.troubles:
            raise self.troubles.pop(0)

    async def pre_review(self, order: WorkOrder) -> Answer:
        self._called()
        return self.review

    async def decide(self, work: HandlingStarted) -> Answer:
        self._called()
        deciding = self.deciding  # what the system knew when asked
        if self.answering:
            await self.answering.wait()
        if deciding:
            raise NotYetDecided(work.work_order_id)
        return self.decision

    async def notify(self, alert: SupervisionAlert) -> str:
        self._called()
        self.notices.append(alert)
        return self.duty_officer

    async def start(self, news: News) -> None:
        pass

    def facts(self) -> BridgeFacts:
        return BridgeFacts(self.asked_at[-1] if self.asked_at else None, {"asked": len(self.asked_at)})

    async def close(self) -> None:
        pass


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 5.0) -> T:
    """Poll until the probe gives something, or fail saying what never happened."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (found := await probe()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out: {what}")
        await asyncio.sleep(0.005)
    return found


@dataclass
class Desk:
    sessions: SessionFactory
    clock: CountingClock
    system: FakeDepartmentSystem
    dispatcher: Dispatcher
    commits: list[None] = field(default_factory=list)
    offset: int = 40

    async def put(self, *work: EventData) -> list[InboxItem]:
        """Accept work as the consumer would from the department's topic; returns each item once the
        department system has been asked about it the first time."""
        now = self.clock.now()
        keys = await self.accept(*work)
        return [await self.changed(key, (WorkStatus.PENDING, 0, now)) for key in keys]

    async def accept(self, *work: EventData) -> list[str]:
        """Accept work as the consumer would, and wake the dispatcher; the items' keys."""
        deliveries = []
        for data in work:
            event = CloudEvent.wrap(data, source="/test/intake", subject=getattr(data, "case_id", "LB1"))
            raw, self.offset = event.to_bytes(), self.offset + 1
            record: ConsumerRecord[Any, Any] = ConsumerRecord(
                TOPICS.work(DEPARTMENT), 2, self.offset, 0, 0, event.subject.encode(), raw, None, 0, len(raw), ()
            )
            deliveries.append(Delivery(record, event, data))
        async with self.sessions() as session, session.begin():
            await AcceptWork(self.clock).apply(session, deliveries)
        self.dispatcher.notify()
        return [inbox_key(d) for d in deliveries]

    async def item(self, key: str) -> InboxItem:
        async with self.sessions() as session:
            item = await session.get(InboxItem, key)
        assert item is not None
        return item

    async def changed(self, key: str, before: tuple[str, int, datetime]) -> InboxItem:
        async def probe() -> InboxItem | None:
            item = await self.item(key)
            return item if (item.status, item.attempts, item.next_attempt_at) != before else None

        return await eventually(probe, f"{key} was never asked (again)")

    async def ask_at(self, moment: datetime, key: str) -> InboxItem:
        """Move the clock to `moment` and wait for the item's next outcome."""
        item = await self.item(key)
        self.clock.set(moment)
        return await self.changed(key, (item.status, item.attempts, item.next_attempt_at))

    async def looks(self, times: int = 3) -> None:
        """Let the dispatcher look for due work a few more times."""
        target = self.clock.reads + times

        async def probe() -> bool | None:
            return True if self.clock.reads >= target else None

        await eventually(probe, "the dispatcher stopped looking")

    async def not_asked_before(self, due: datetime) -> None:
        """Just before `due`, the dispatcher looks and asks nothing."""
        calls = len(self.system.asked_at)
        self.clock.set(due - timedelta(milliseconds=1))
        await self.looks()
        assert len(self.system.asked_at) == calls, f"asked before {due}"

    async def outbox(self) -> list[tuple[str, CloudEvent]]:
        async with self.sessions() as session:
            rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
            return [(r.topic, CloudEvent.from_bytes(r.payload)) for r in rows]


@pytest.fixture
async def desk(make_sessions: MakeSessions) -> AsyncIterator[Desk]:
    sessions = await make_sessions(SCHEMA)
    clock = CountingClock(T0)
    system = FakeDepartmentSystem(clock)
    source = f"/test/adapter-{DEPARTMENT}"
    broker = KafkaBroker("127.0.0.1:9")  # never connected: the dispatcher's dead letters leave through the outbox
    letters = DeadLetters(broker, TOPICS, f"adapter-{DEPARTMENT}", source)
    commits: list[None] = []
    dispatcher = Dispatcher(
        DEPARTMENT,
        sessions,
        system,
        Outbox(source, TOPICS),
        letters,
        clock,
        lambda: commits.append(None),
        attempts=ATTEMPTS,
        backoff=BACKOFF,
        concurrency=8,
        poll_seconds=POLL,
        max_backoff=MAX_BACKOFF,
        idle_seconds=0.01,
    )
    dispatcher.start()
    desk = Desk(sessions, clock, system, dispatcher, commits)
    try:
        yield desk
    finally:
        await dispatcher.stop()


def work_order(work_order_id: str = "LB1-fire", department: str = DEPARTMENT) -> WorkOrder:
    return WorkOrder(
        work_order_id=work_order_id,
        case_id="LB1",
        center="test",
        matter_code="JM-REST-001",
        department=department,
        part_code="FIRE-OPEN",
        part_name="公众聚集场所投入使用、营业前消防安全检查",
        applicant=APPLICANT,
        materials={"消防安全制度": "doc://LB1/3"},
        time_limit_days=10,
        pre_review_days=2,
        issued_at=T0,
    )


def handling_started() -> HandlingStarted:
    return HandlingStarted(
        work_order_id="LB1-fire",
        case_id="LB1",
        department=DEPARTMENT,
        part_code="FIRE-OPEN",
        part_name="公众聚集场所投入使用、营业前消防安全检查",
        applicant=APPLICANT,
        materials={"消防安全制度": "doc://LB1/3"},
        time_limit_days=10,
        accepted_at=T0,
    )


def red_card() -> SupervisionAlert:
    return SupervisionAlert(
        alert_id="AL-9",
        case_id="LB1",
        work_order_id="LB1-fire",
        department=DEPARTMENT,
        kind="red_card",
        message="您部门承办的事项已超期，请立即办理",
        deadline=T0,
        issued_by="supervision",
        issued_at=T0,
    )


def payloads(events: list[tuple[str, CloudEvent]], model: type[E]) -> list[E]:
    return [data for _, e in events if isinstance(data := e.payload(), model)]


async def test_a_work_order_is_pre_reviewed_and_its_answer_recorded_once(desk: Desk) -> None:
    [item] = await desk.put(work_order())
    await desk.looks()

    assert (item.status, item.answered_at) == (WorkStatus.ANSWERED, T0)
    events = await desk.outbox()
    [(topic, event)], [acted] = events, payloads(events, DepartmentActed)
    assert (topic, event.id) == (TOPICS.actions(DEPARTMENT), item.result_event_id)
    assert (acted.work_order_id, acted.staff_id, acted.action, acted.acted_at) == (
        "LB1-fire",
        "FIRE-STAFF-07",
        Accept(opinion="材料齐全"),
        T0,
    )
    assert desk.system.asked_at == [T0]
    assert desk.commits, "the outbox relay was not woken"


async def test_a_failing_department_system_is_asked_again_with_capped_exponential_backoff(desk: Desk) -> None:
    desk.system.fail(4)
    [item] = await desk.put(work_order())
    waits = []
    while item.status == WorkStatus.PENDING:
        waits.append((item.attempts, item.next_attempt_at - desk.clock.now()))
        await desk.not_asked_before(item.next_attempt_at)
        item = await desk.ask_at(item.next_attempt_at, item.item_id)

    assert waits == [(1, seconds(0.5)), (2, seconds(1)), (3, seconds(2)), (4, seconds(2))]  # capped at max_backoff
    assert desk.system.asked_at == [T0 + seconds(s) for s in (0, 0.5, 1.5, 3.5, 5.5)]
    assert item.status == WorkStatus.ANSWERED
    assert item.last_error is None  # answered: the failures before are history, not its state
    assert [e.payload() for _, e in await desk.outbox()] == [
        DepartmentActed(
            case_id="LB1",
            work_order_id="LB1-fire",
            department=DEPARTMENT,
            staff_id="FIRE-STAFF-07",
            acted_at=T0 + seconds(5.5),
            action=Accept(opinion="材料齐全"),
        )
    ]


async def test_after_the_last_attempt_the_work_is_dead_lettered_once_with_its_origin(desk: Desk) -> None:
    desk.system.down = True
    [item] = await desk.put(work_order())
    while item.status == WorkStatus.PENDING:
        item = await desk.ask_at(item.next_attempt_at, item.item_id)
    desk.clock.set(T0 + timedelta(hours=1))
    await desk.looks()

    assert (item.status, item.attempts, len(desk.system.asked_at)) == (WorkStatus.DEAD, ATTEMPTS, ATTEMPTS)
    events = await desk.outbox()
    [(topic, _)], [letter] = events, payloads(events, DeadLetter)
    assert topic == TOPICS.dead_letters
    assert (
        letter.error == f"after {ATTEMPTS} attempts: ConnectorError: department system: ClientConnectorError: connection refused"
    )
    assert (letter.topic, letter.partition, letter.offset, letter.key) == (TOPICS.work(DEPARTMENT), 2, 41, "LB1")
    assert CloudEvent.model_validate_json(letter.original).payload() == work_order()


async def test_a_department_still_deciding_is_asked_again_after_the_poll_interval_and_never_dead_lettered(desk: Desk) -> None:
    desk.system.fail(2)
    desk.system.deciding = True
    [item] = await desk.put(handling_started())
    item = await desk.ask_at(item.next_attempt_at, item.item_id)
    item = await desk.ask_at(item.next_attempt_at, item.item_id)  # the system is back, still deciding
    assert (item.attempts, item.next_attempt_at) == (0, T0 + seconds(1.5 + POLL))

    for _ in range(ATTEMPTS + 1):
        await desk.not_asked_before(item.next_attempt_at)
        due = item.next_attempt_at
        item = await desk.ask_at(due, item.item_id)
        assert (item.status, item.attempts, item.next_attempt_at) == (WorkStatus.PENDING, 0, due + seconds(POLL))
    receipt = WorkReceived(
        case_id="LB1", work_order_id="LB1-fire", department=DEPARTMENT, work="handle", received_at=T0 + seconds(1.5)
    )
    assert [e.payload() for _, e in await desk.outbox()] == [receipt]  # 签收 once, at the first sign it was taken

    desk.system.deciding = False
    item = await desk.ask_at(item.next_attempt_at, item.item_id)
    [acted] = payloads(await desk.outbox(), DepartmentActed)
    assert payloads(await desk.outbox(), WorkReceived) == [receipt]
    assert item.status == WorkStatus.ANSWERED
    assert (acted.staff_id, acted.action) == ("FIRE-STAFF-08", Approve(document_number="FIRE-2026-000001"))


async def test_news_that_comes_while_the_system_is_being_asked_is_not_lost_to_the_poll(desk: Desk) -> None:
    """The bridge brings the decision while the call that says "still deciding" is under way: the item is
    asked again at once, not a poll interval later (the ferry's news was buried so, once in three runs)."""
    desk.system.deciding, desk.system.answering = True, asyncio.Event()
    [key] = await desk.accept(handling_started())
    await eventually(lambda: _true(len(desk.system.asked_at) == 1), "the system was never asked")

    desk.system.deciding = False  # decided meanwhile, and the bridge says so
    desk.dispatcher.expedite([key])
    desk.system.answering.set()  # the call under way still says "deciding"

    item = await eventually(lambda: _answered(desk, key), "the news was buried until the next poll")
    assert desk.system.asked_at == [T0, T0]  # asked again at once: the clock never moved
    assert item.answered_at == T0


async def _true(condition: bool) -> bool | None:
    return True if condition else None


async def _answered(desk: Desk, key: str) -> InboxItem | None:
    item = await desk.item(key)
    return item if item.status == WorkStatus.ANSWERED else None


async def test_a_message_that_is_not_work_for_this_department_is_dead_lettered_at_once(desk: Desk) -> None:
    taxes, stray = await desk.put(
        work_order("LB1-tax", department="tax"),
        DepartmentActed(
            case_id="LB1", work_order_id="LB1-fire", department=DEPARTMENT, staff_id="F-01", acted_at=T0, action=Accept()
        ),
    )

    assert [(i.status, i.attempts) for i in (taxes, stray)] == [(WorkStatus.DEAD, 1)] * 2
    assert stray.item_id == f"{TOPICS.work(DEPARTMENT)}@2:42"
    letters = payloads(await desk.outbox(), DeadLetter)
    assert [(letter.offset, letter.error) for letter in letters] == [
        (41, "after 1 attempt: MalformedEvent: not work for fire"),
        (42, "after 1 attempt: MalformedEvent: not work for fire"),
    ]
    assert desk.system.asked_at == []


async def test_work_the_department_system_refuses_is_dead_lettered_at_once(desk: Desk) -> None:
    desk.system.troubles.append(WorkRefused("department system refused the request: HTTP 400 bizNo 格式错误"))
    [item] = await desk.put(work_order())

    assert (item.status, item.attempts) == (WorkStatus.DEAD, 1)
    [letter] = payloads(await desk.outbox(), DeadLetter)
    assert letter.error == "after 1 attempt: WorkRefused: department system refused the request: HTTP 400 bizNo 格式错误"


async def test_a_supervision_notice_is_handed_over_and_acknowledged(desk: Desk) -> None:
    [item] = await desk.put(red_card())

    assert (item.item_id, item.status) == ("LB1-fire#notice-AL-9", WorkStatus.ANSWERED)
    assert desk.system.notices == [red_card()]
    [(topic, event)] = await desk.outbox()
    assert topic == TOPICS.acknowledgements(DEPARTMENT)
    assert event.payload() == AlertAcknowledged(
        alert_id="AL-9", case_id="LB1", department=DEPARTMENT, staff_id="FIRE-DUTY-01", acknowledged_at=T0
    )


async def test_the_bridge_report_shows_work_not_taken_the_oldest_first_until_the_department_takes_it(desk: Desk) -> None:
    desk.system.down = True
    [review] = await desk.put(work_order())
    desk.clock.set(T0 + seconds(1))
    [handling] = await desk.put(handling_started())
    reporter = BridgeReporter(
        DEPARTMENT, desk.sessions, desk.system, Outbox("/test/adapter", TOPICS), desk.clock, lambda: None, 10
    )

    report = await reporter.report()
    assert (report.department, report.bridge, report.waiting) == (DEPARTMENT, "http", 2)
    assert [(w.work_order_id, w.work, w.since) for w in report.oldest_waiting] == [
        ("LB1-fire", "review1", T0),
        ("LB1-fire", "handle", T0 + seconds(1)),
    ]
    assert report.last_contact_at is not None  # asked, though it failed: the fake's own idea of contact

    desk.system.down, desk.system.deciding = False, True
    await desk.ask_at(review.next_attempt_at + seconds(60), review.item_id)
    await desk.changed(handling.item_id, (WorkStatus.PENDING, 1, handling.next_attempt_at))
    later = await reporter.report()
    assert (later.waiting, later.oldest_waiting) == (0, [])  # one answered, one taken (签收) and still being decided
    [published] = [e.payload() for topic, e in await desk.outbox() if topic == TOPICS.bridge(DEPARTMENT)][-1:]
    assert published == later
