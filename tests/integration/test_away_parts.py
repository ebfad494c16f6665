"""A part at another center (转报): the city's supervision sends home how the part stands there (its deadline by
the city's calendar, its cards, its urgings) whenever that changes, and only then; the district keeps the
latest; the district's urge crosses to the city and reaches its department as a notice, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.supervision.adapters.orm import Alert, AwayPart
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.away import StatusReporter, keep, urge_across, urged_from_child
from shared.centers import Centers
from shared.contracts import CloudEvent, TransferOrigin, TransferStatus, TransferUrged
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from tests.integration.supervision_world import NAMES, World, accepted, cst, submitted, world
from tests.servers import MakeSessions

CENTERS = Centers.load()
ORIGIN = TransferOrigin(
    center="xihu", center_name="西湖区行政服务中心", division="330106", serial="LB1", work_order_id="LB1-planning", counted_days=2
)


async def statuses(city: World) -> list[TransferStatus]:
    async with city.sessions() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.topic == "lianban.hangzhou.exchange.xihu"))
        return [CloudEvent.from_bytes(r.payload).payload() for r in rows]  # type: ignore[misc]


async def test_the_city_sends_the_parts_status_home_when_it_changes(make_sessions: MakeSessions) -> None:
    city = await world(make_sessions)
    case = submitted("LB1", {"planning": 3}, cst(11, 23)).model_copy(update={"transferred_from": ORIGIN})
    await city.feed(case, accepted(case, cst(11, 23, 10)))
    outbox = Outbox("/lianban/hangzhou/supervision", Topics("hangzhou"))
    reporter = StatusReporter("hangzhou", CENTERS, city.sessions, outbox, {"planning": "规划局"}, city.clock, lambda: None)

    assert await reporter.report() == 1
    assert await reporter.report() == 0, "nothing changed: nothing sent"
    (first,) = await statuses(city)
    assert (first.serial, first.stage_id, first.from_center, first.to_center) == ("LB1", "LB1-planning", "hangzhou", "xihu")
    assert first.state == "running"
    assert first.deadline == (await city.part("LB1-planning")).deadline
    assert (first.yellow_cards, first.urges) == (0, 0)

    await city.at(cst(11, 27, 18))  # past the city's deadline: a yellow card there
    city.clock.set(cst(11, 27, 18))
    assert await reporter.report() == 1
    second = (await statuses(city))[-1]
    assert second.state == "overdue"
    assert second.yellow_cards == 1


async def test_the_district_keeps_the_latest_status_and_its_urge_crosses_once(make_sessions: MakeSessions) -> None:
    district = await world(make_sessions)
    now = datetime(2026, 11, 24, 2, tzinfo=UTC)

    def status(sent_at: datetime, yellow: int) -> TransferStatus:
        return TransferStatus(
            from_center="hangzhou",
            from_division="330100",
            to_center="xihu",
            to_division="330106",
            sent_at=sent_at,
            serial="LB1",
            stage_id="LB1-planning",
            department_name="自然资源和规划局（规划）",
            state="running",
            deadline=now + timedelta(days=3),
            yellow_cards=yellow,
            red_cards=0,
            urges=0,
        )

    async with district.sessions() as session, session.begin():
        await keep(session, [status(now, 1), status(now - timedelta(minutes=1), 0)], now)
    async with district.sessions() as session, session.begin():
        await keep(session, [status(now - timedelta(minutes=2), 0)], now)  # older, late: changes nothing
        away = await session.get(AwayPart, "LB1-planning")
        assert away is not None
        assert (away.center, away.yellow_cards) == ("hangzhou", 1)
        outbox = Outbox("/lianban/xihu/supervision", Topics("xihu"))
        urged = urge_across(session, away, "xihu", CENTERS, outbox, "SV-01", now)
    assert isinstance(urged, TransferUrged)
    async with district.sessions() as session:
        assert list(await session.scalars(select(OutboxRow.topic))) == ["lianban.xihu.exchange.hangzhou"]

    city = await world(make_sessions)
    case = submitted("LB1", {"planning": 3}, cst(11, 23)).model_copy(update={"transferred_from": ORIGIN})
    await city.feed(case, accepted(case, cst(11, 23, 10)))
    desk = AlertDesk(Outbox("/lianban/hangzhou/supervision", Topics("hangzhou")), NAMES)
    for _ in range(2):  # the same urge twice (a resend): one notice
        async with city.sessions() as session, session.begin():
            await urged_from_child(session, [urged], desk, now)
    async with city.sessions() as session:
        (alert,) = await session.scalars(select(Alert))
    assert (alert.kind, alert.work_order_id, alert.issued_by) == ("urge", "LB1-planning", "xihu:SV-01")
    assert (await city.part("LB1-planning")).urge_count == 1
    notices = [e for topic, e in await city.outbox() if topic == "lianban.hangzhou.work.planning"]
    assert len(notices) == 1, "the city's planning department is told, to acknowledge"
