"""Events leave the outbox once Kafka has confirmed them, in the order they were written."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import MetaData, func, select

from shared.contracts import CloudEvent, SupervisionAlert
from shared.messaging.outbox import Outbox, OutboxRelay, OutboxRow
from tests.servers import MakeSessions


class FakeBroker:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.fail = fail

    async def publish(self, payload: bytes, topic: str, *, key: bytes, headers: dict[str, str],
                      no_confirm: bool) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(ConnectionError("broker down"))
        else:
            self.sent.append((topic, key, payload))
            future.set_result(None)
        return future


def alert(n: int) -> SupervisionAlert:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 23, tzinfo=UTC)
    return SupervisionAlert(alert_id=f"A{n}", case_id=f"LB{n}", work_order_id=f"LB{n}-tax", department="tax",
                            kind="yellow_card", message="超期", deadline=now, issued_by="supervision", issued_at=now)


async def pending(relay: OutboxRelay) -> int:
    async with relay.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


async def queue(relay: OutboxRelay, count: int) -> None:
    outbox = Outbox("/test")
    async with relay.sessions() as session, session.begin():
        for n in range(count):
            outbox.add(session, "lianban.test.supervision.alerts", alert(n), subject=f"LB{n}")


async def test_confirmed_events_leave_the_outbox_in_order(make_sessions: MakeSessions) -> None:
    broker = FakeBroker()
    relay = OutboxRelay(await make_sessions(MetaData()), broker, batch_size=3)  # type: ignore[arg-type]
    await queue(relay, 5)
    assert await relay.publish_pending() == 3
    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 0
    assert await pending(relay) == 0
    assert [CloudEvent.from_bytes(p).subject for _, _, p in broker.sent] == [f"LB{n}" for n in range(5)]
    assert [k for _, k, _ in broker.sent] == [f"LB{n}".encode() for n in range(5)]


async def test_nothing_leaves_the_outbox_while_kafka_does_not_confirm(make_sessions: MakeSessions) -> None:
    relay = OutboxRelay(await make_sessions(MetaData()), FakeBroker(fail=True))  # type: ignore[arg-type]
    await queue(relay, 2)
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert await pending(relay) == 2


