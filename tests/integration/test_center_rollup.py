"""汇总: a district's supervision sends its figures to its city, signed; the city's supervision keeps each child's
latest and shows them beside its own, best first, and takes no figures its child's key did not sign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import ConsumerRecord
from sqlalchemy import select

from services.supervision.adapters.orm import SCHEMA
from services.supervision.entrypoints.consumers import from_children
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.rollup import FiguresReporter, side_by_side
from shared.centers import Centers
from shared.clock import ManualClock
from shared.contracts import CenterFigures, CloudEvent
from shared.messaging.consumer import BatchConsumer, by_topic
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from shared.workdays import WorkingCalendar
from tests.fakes import KeptDeadLetters
from tests.integration.supervision_world import NAMES
from tests.keys import registered_keys
from tests.servers import MakeSessions

CENTERS = Centers.load()
NOW = datetime(2026, 11, 30, 2, tzinfo=UTC)


def figures(center: str, sent_at: datetime, received: int, on_time_rate: float | None, overdue: int = 0) -> CenterFigures:
    return CenterFigures(
        from_center=center,
        from_division=CENTERS[center].division,
        to_center="hangzhou",
        to_division="330100",
        sent_at=sent_at,
        received=received,
        accepted=received,
        completed=received - 1,
        decided_parts=10,
        on_time_parts=int(10 * (on_time_rate or 0)),
        on_time_rate=on_time_rate,
        overdue_parts=overdue,
        yellow_cards=1,
        red_cards=0,
        urges=2,
        complaints=0,
    )


async def test_the_city_shows_each_districts_latest_figures_beside_its_own(make_sessions: MakeSessions, tmp_path: Path) -> None:
    sessions = await make_sessions(SCHEMA)
    signers, registry = registered_keys(tmp_path, "xihu", "gongshu")
    dead = KeptDeadLetters()
    clock = ManualClock(NOW)
    city = Topics("hangzhou")
    consumer = BatchConsumer(
        "lianban-hangzhou-supervision",
        sessions,
        dead,  # type: ignore[arg-type]
        by_topic(from_children(city, ["xihu", "gongshu"], registry, AlertDesk(Outbox("/t", city), NAMES), clock)),
    )
    offsets = iter(range(1, 100))

    async def arrive(child: str, *raws: bytes) -> None:
        topic = Topics(child).exchange("hangzhou")
        await consumer.handle(
            [ConsumerRecord(topic, 0, next(offsets), 0, 0, child.encode(), raw, None, 0, len(raw), ()) for raw in raws]
        )

    def signed(report: CenterFigures, by: str) -> bytes:
        return signers[by].sign(CloudEvent.wrap(report, source=f"/lianban/{by}/supervision", subject=by).to_bytes())

    await arrive("xihu", signed(figures("xihu", NOW, 5, 0.8), "xihu"))
    await arrive("gongshu", signed(figures("gongshu", NOW, 3, 1.0), "gongshu"))
    await arrive("xihu", signed(figures("xihu", NOW - timedelta(minutes=5), 4, 0.5), "xihu"))  # an older one, late
    await arrive("xihu", signed(figures("xihu", NOW + timedelta(minutes=1), 99, 0.0), "gongshu"))  # gongshu's key
    assert len(dead.reasons) == 1
    assert "未登记为 xihu" in dead.reasons[0]

    async with sessions() as session:
        rows = await side_by_side(session, "hangzhou", CENTERS, WorkingCalendar(), NOW)
    assert [r["center"] for r in rows] == ["gongshu", "xihu", "hangzhou"]  # best on-time rate first; none yet last
    xihu = rows[1]
    assert xihu["name"] == "西湖区行政服务中心"
    assert xihu["division"] == "330106"
    assert xihu["figures"]["received"] == 5, "the latest report, not the late older one nor the forged one"
    assert rows[2]["figures"]["received"] == 0  # the city's own cases


async def test_a_district_sends_its_figures_to_its_parent_signed(make_sessions: MakeSessions, tmp_path: Path) -> None:
    sessions = await make_sessions(SCHEMA)
    signers, registry = registered_keys(tmp_path, "xihu")
    outbox = Outbox("/lianban/xihu/supervision", Topics("xihu"), center_signer=signers["xihu"])
    reporter = FiguresReporter("xihu", CENTERS, sessions, outbox, WorkingCalendar(), ManualClock(NOW), lambda: None)
    await reporter.report()
    async with sessions() as session:
        (row,) = await session.scalars(select(OutboxRow))
    assert row.topic == "lianban.xihu.exchange.hangzhou"
    assert registry.refusal(row.payload, "xihu") is None
    sent = CloudEvent.from_bytes(row.payload).payload()
    assert isinstance(sent, CenterFigures)
    assert (sent.from_center, sent.to_center, sent.received) == ("xihu", "hangzhou", 0)


async def test_a_city_without_a_parent_sends_no_figures(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(SCHEMA)
    outbox = Outbox("/lianban/hangzhou/supervision", Topics("hangzhou"))
    await FiguresReporter("hangzhou", CENTERS, sessions, outbox, WorkingCalendar(), ManualClock(NOW), lambda: None).report()
    async with sessions() as session:
        assert list(await session.scalars(select(OutboxRow))) == []
