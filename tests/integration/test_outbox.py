"""Events leave the outbox once Kafka has confirmed them, in the order they were written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from sqlalchemy import MetaData, func, select

from shared.contracts import CaseEvaluated, CloudEvent, DeadLetter, SupervisionAlert
from shared.messaging.outbox import Outbox, OutboxRelay, OutboxRow
from shared.topics import Topics
from tests.servers import MakeSessions

OUTBOX = Outbox("/test", Topics("test"))


class FakeBroker:
    def __init__(self, fail: bool = False, too_large: tuple[bytes, ...] = (), refused: tuple[bytes, ...] = ()) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.fail, self.too_large, self.refused = fail, too_large, refused

    async def publish(
        self, payload: bytes, topic: str, *, key: bytes, headers: dict[str, str], no_confirm: bool
    ) -> asyncio.Future[None]:
        poisoned = topic != "lianban.test.dead-letters"  # a dead letter is small: it passes
        if poisoned and key in self.too_large:  # the client refuses it before sending
            raise MessageSizeTooLargeError("The message is 1100000 bytes when serialized")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(ConnectionError("broker down"))
        elif poisoned and key in self.refused:  # the broker refuses it
            future.set_exception(RecordTooLargeError())
        else:
            self.sent.append((topic, key, payload))
            future.set_result(None)
        return future


def evaluation(n: int) -> CaseEvaluated:
    return CaseEvaluated(case_id=f"LB{n}", score=5, evaluated_at=datetime(2026, 11, 23, tzinfo=UTC))


async def pending(relay: OutboxRelay) -> int:
    async with relay.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


async def queue(relay: OutboxRelay, count: int) -> None:
    async with relay.sessions() as session, session.begin():
        for n in range(count):
            OUTBOX.add(session, evaluation(n), subject=f"LB{n}")


async def test_confirmed_events_leave_the_outbox_in_order(make_sessions: MakeSessions) -> None:
    broker = FakeBroker()
    relay = OutboxRelay(await make_sessions(MetaData()), broker, OUTBOX, batch_size=3)  # type: ignore[arg-type]
    await queue(relay, 5)
    assert await relay.publish_pending() == 3
    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 0
    assert await pending(relay) == 0
    assert [CloudEvent.from_bytes(p).subject for _, _, p in broker.sent] == [f"LB{n}" for n in range(5)]
    assert [k for _, k, _ in broker.sent] == [f"LB{n}".encode() for n in range(5)]


async def test_nothing_leaves_the_outbox_while_kafka_does_not_confirm(make_sessions: MakeSessions) -> None:
    relay = OutboxRelay(await make_sessions(MetaData()), FakeBroker(fail=True), OUTBOX)  # type: ignore[arg-type]
    await queue(relay, 2)
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert await pending(relay) == 2


async def test_an_alert_leaves_for_the_alerts_topic_and_the_departments_own(make_sessions: MakeSessions) -> None:
    broker = FakeBroker()
    relay = OutboxRelay(await make_sessions(MetaData()), broker, OUTBOX)  # type: ignore[arg-type]
    now = datetime(2026, 11, 23, tzinfo=UTC)
    alert = SupervisionAlert(
        alert_id="A1",
        case_id="LB1",
        work_order_id="LB1-tax",
        department="tax",
        kind="yellow_card",
        message="超期",
        deadline=now,
        issued_by="supervision",
        issued_at=now,
    )
    async with relay.sessions() as session, session.begin():
        OUTBOX.add(session, alert, subject="LB1")
    await relay.publish_pending()
    assert [t for t, _, _ in broker.sent] == ["lianban.test.supervision.alerts", "lianban.test.work.tax"]


@pytest.mark.parametrize("where", ["client", "broker"])
async def test_an_event_the_broker_refuses_is_dead_lettered_and_the_rest_go_on(make_sessions: MakeSessions, where: str) -> None:
    poison = (b"LB1",)
    broker = FakeBroker(too_large=poison) if where == "client" else FakeBroker(refused=poison)
    relay = OutboxRelay(await make_sessions(MetaData()), broker, OUTBOX)  # type: ignore[arg-type]
    await queue(relay, 3)
    assert await relay.publish_pending() == 3
    assert await relay.publish_pending() == 1  # the dead letter, queued in place of the refused event
    assert [(t, k) for t, k, _ in broker.sent] == [
        ("lianban.test.case.events", b"LB0"),
        ("lianban.test.case.events", b"LB2"),
        ("lianban.test.dead-letters", b"LB1"),
    ]
    letter = CloudEvent.from_bytes(broker.sent[-1][2]).payload()
    assert isinstance(letter, DeadLetter)
    assert letter.error.startswith("refused by the broker: ")
    assert (letter.topic, letter.partition, letter.key) == ("lianban.test.case.events", -1, "LB1")
    assert CloudEvent.from_bytes(letter.original.encode()).subject == "LB1"
