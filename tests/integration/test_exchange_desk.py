"""Two centers' intakes, each on its own database, exchanging one case through their consumers: the district
transfers its planning part up, the city files it once however often the record comes, its decision comes
home; a record not signed by its sender center is dead-lettered with the reason and changes nothing. (The
wire between them, MirrorMaker 2 between two clusters, is tests/e2e/test_centers.py's.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.postgres_local import create_database
from services.intake.adapters.orm import SCHEMA
from services.intake.domain.exchange import Exchange
from services.intake.entrypoints.consumers import exchange_handlers
from services.intake.service_layer.act import ActionNotAllowed, CaseActions
from services.intake.service_layer.exchange import ExchangeDesk
from services.intake.service_layer.submit import SubmitCase
from shared.centers import Centers
from shared.clock import ManualClock
from shared.contracts import (
    Accept,
    Approve,
    CaseConcluded,
    CaseState,
    CloudEvent,
    HandlingStarted,
    Outcome,
    PartActionRecorded,
    PartState,
    PartTransferred,
    Transfer,
)
from shared.db import SessionFactory, make_engine, session_factory
from shared.messaging.consumer import BatchConsumer, by_topic
from shared.messaging.outbox import Outbox, OutboxRow
from shared.migrations import migrate
from shared.signing import Signer
from shared.topics import Topics
from shared.workdays import CHINA, WorkingCalendar
from tests.builders import CATALOG, application, materials_for
from tests.fakes import KeptDeadLetters
from tests.integration.supervision_world import world
from tests.keys import registered_keys
from tests.servers import MakeSessions

CENTERS = Centers.load()


@dataclass
class Center:
    code: str
    sessions: SessionFactory
    submit: SubmitCase
    actions: CaseActions
    consumer: BatchConsumer
    dead: KeptDeadLetters
    clock: ManualClock
    offset: int = 0

    async def sent(self, topic: str) -> list[bytes]:
        """What this center's outbox holds for a topic, taken out as its relay would."""
        async with self.sessions() as session, session.begin():
            rows = list(await session.scalars(select(OutboxRow).where(OutboxRow.topic == topic).order_by(OutboxRow.id)))
            await session.execute(delete(OutboxRow).where(OutboxRow.id.in_([r.id for r in rows])))
        return [r.payload for r in rows]

    async def receive(self, topic: str, *raws: bytes) -> None:
        """The records as this center's intake consumer reads them from its cluster (the mirror's copy)."""
        records = []
        for raw in raws:
            self.offset += 1
            records.append(ConsumerRecord(topic, 0, self.offset, 0, 0, b"k", raw, None, 0, len(raw), ()))
        await self.consumer.handle(records)

    async def events(self, topic: str) -> list[Any]:
        async with self.sessions() as session:
            rows = await session.scalars(select(OutboxRow.payload).where(OutboxRow.topic == topic).order_by(OutboxRow.id))
            return [CloudEvent.from_bytes(r).payload() for r in rows]


@pytest.fixture
async def centers(
    make_sessions: MakeSessions, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[dict[str, Center]]:
    """xihu (district) on the test's database, hangzhou (its city) and zhuantang (one of its town points) on
    databases of their own of the same kind; each signs with its own key and holds the others' public keys."""

    async def another(name: str) -> AsyncEngine:
        if database_url.startswith("sqlite"):
            url = f"sqlite+aiosqlite:///{tmp_path / name}.db"
        else:
            url = await create_database(request.getfixturevalue("postgres_server"), f"test_{uuid.uuid4().hex[:12]}")
        engine = make_engine(url)
        await migrate(engine, SCHEMA)
        return engine

    engines = [await another("city"), await another("town")]
    signers, keys = registered_keys(tmp_path, "xihu", "hangzhou", "zhuantang", "gongshu")
    local = tmp_path / "xihu-calendar.json"  # the district works Saturday 28 November (调休); the city does not
    local.write_text(json.dumps({"years": {}, "local": {"holidays": [], "workdays": ["2026-11-28"]}}))
    calendars = {"xihu": WorkingCalendar(local), "hangzhou": WorkingCalendar(), "zhuantang": WorkingCalendar()}
    built = {}
    databases = [await make_sessions(SCHEMA), *map(session_factory, engines)]
    for code, sessions in zip(("xihu", "hangzhou", "zhuantang"), databases, strict=True):
        clock = ManualClock(FRIDAY)
        exchange = Exchange(code, CENTERS, calendars[code])
        outbox = Outbox(f"/test/{code}/intake", Topics(code), center_signer=signers[code])
        desk = ExchangeDesk(exchange, CATALOG, outbox, clock)
        dead = KeptDeadLetters()
        consumer = BatchConsumer(
            f"lianban-{code}-intake",
            sessions,
            dead,  # type: ignore[arg-type]
            by_topic(exchange_handlers(Topics(code), desk, keys)),
        )
        built[code] = Center(
            code,
            sessions,
            SubmitCase(sessions, CATALOG, outbox, lambda: None, clock, exchange=exchange),
            CaseActions(sessions, outbox, lambda: None, clock, exchange=exchange),
            consumer,
            dead,
            clock,
        )
    built["gongshu-signer"] = signers["gongshu"]  # type: ignore[assignment]
    yield built
    for engine in engines:
        await engine.dispose()


UP, DOWN = Topics("xihu").exchange("hangzhou"), Topics("hangzhou").exchange("xihu")
FRIDAY = datetime(2026, 11, 27, 9, tzinfo=CHINA)


async def a_transferred_case(xihu: Center, transferred_at: datetime | None = None) -> str:
    """Filed and accepted at the district (on its clock), then its planning part transferred up (at `transferred_at`)."""
    joint = CATALOG.joint_matters["JM-DIST-001"]
    filed = application(matter_code=joint.code, lead_department=joint.lead, materials=materials_for(joint.code))
    case_id = (await xihu.submit(filed, None)).case.case_id
    for department in ("planning", "fire"):
        await xihu.actions.department_acts(case_id, department, f"{department}-01", Accept())
    if transferred_at:
        xihu.clock.set(transferred_at)
    await xihu.actions.department_acts(case_id, "planning", "PLN-XH-07", Transfer(opinion="初审同意，转报市局审批"))
    return case_id


async def test_the_city_files_a_transfer_once_and_its_decision_comes_home(centers: dict[str, Center]) -> None:
    xihu, hangzhou = centers["xihu"], centers["hangzhou"]
    case_id = await a_transferred_case(xihu)
    (record,) = await xihu.sent(UP)
    assert json.loads(record)["lbsigkey"] == "xihu-1"

    # the district sending the same stage again (a new event id, signed again): still one case at the city
    resigned = xihu.actions.outbox.rows(CloudEvent.from_bytes(record).payload(), subject=case_id)[1][0]["payload"]
    await hangzhou.receive(UP, record, record, resigned)  # twice on the wire, and once sent again under a new id
    assert hangzhou.dead.letters == []
    city = await hangzhou.actions.read(case_id)
    assert city is not None
    assert city.state is CaseState.HANDLING
    assert city.transferred_from is not None
    assert city.transferred_from.center == "xihu"
    work = [e for e in await hangzhou.events(Topics("hangzhou").work("planning")) if isinstance(e, HandlingStarted)]
    assert len(work) == 1, "one work order at the city, however often the record came"
    assert work[0].time_limit_days == 20  # nothing counted yet at the district: accepted and transferred today

    await hangzhou.actions.department_acts(case_id, "planning", "PLN-HZ-02", Approve(document_number="建字第3301002026001号"))
    (decided,) = await hangzhou.sent(DOWN)
    assert json.loads(decided)["lbsigkey"] == "hangzhou-1"
    await xihu.receive(DOWN, decided, decided)
    assert xihu.dead.letters == []
    await xihu.actions.department_acts(case_id, "fire", "fire-01", Approve(document_number="FIRE-1"))
    district = await xihu.actions.read(case_id)
    assert district is not None
    assert district.state is CaseState.CONCLUDED
    assert district.outcome is Outcome.APPROVED
    planning = district.part_of("planning")
    assert planning.state is PartState.APPROVED
    assert planning.decided_by == "PLN-HZ-02"
    recorded = [e for e in await xihu.events(Topics("xihu").case_events) if isinstance(e, PartActionRecorded)]
    from_city = next(e for e in recorded if e.staff_id == "PLN-HZ-02")
    assert from_city.signed_event is not None
    assert from_city.signed_event["lbsigkey"] == "hangzhou-1", "the city's signed record is kept as the evidence"


async def test_a_record_not_signed_by_its_sender_is_dead_lettered_and_changes_nothing(centers: dict[str, Center]) -> None:
    xihu, hangzhou = centers["xihu"], centers["hangzhou"]
    gongshu: Signer = centers["gongshu-signer"]  # type: ignore[assignment]
    case_id = await a_transferred_case(xihu)
    (record,) = await xihu.sent(UP)
    body = json.loads(record)
    bare = {k: v for k, v in body.items() if not k.startswith("lbsig")}
    forged = gongshu.sign_event(bare | {"id": str(uuid.uuid4())})
    unsigned = json.dumps(bare | {"id": str(uuid.uuid4())}).encode()
    altered = json.dumps(body | {"data": body["data"] | {"counted_days": 0, "matter_code": "PLN-SITE"}}).encode()
    await hangzhou.receive(UP, forged, unsigned, altered)
    reasons = [error for _, error in hangzhou.dead.letters]
    assert len(reasons) == 3
    assert "未登记为 xihu 的密钥" in reasons[0]
    assert "未签名" in reasons[1]
    assert "签名无效" in reasons[2]
    assert all(f"{case_id}/transfer/" in r for r in reasons)
    assert await hangzhou.actions.read(case_id) is None


async def test_a_transfer_from_a_center_that_is_not_a_child_is_refused(centers: dict[str, Center]) -> None:
    xihu, hangzhou = centers["xihu"], centers["hangzhou"]
    await a_transferred_case(xihu)
    (record,) = await xihu.sent(UP)
    await hangzhou.receive(Topics("gongshu").exchange("hangzhou"), record)  # xihu's record arriving as gongshu's
    (reason,) = [error for _, error in hangzhou.dead.letters]
    assert "未登记为 gongshu" in reason
    assert isinstance(CloudEvent.from_bytes(record).payload(), PartTransferred)


async def test_two_calendars_count_one_transferred_part(centers: dict[str, Center], tmp_path: Path) -> None:
    """The district counts the days before its transfer by its own calendar (it works Saturday 28 November) and
    says which; the city takes them as counted and counts the rest by its own (no such Saturday)."""
    xihu, hangzhou = centers["xihu"], centers["hangzhou"]
    case_id = await a_transferred_case(xihu, transferred_at=datetime(2026, 12, 1, 10, tzinfo=CHINA))  # accepted Friday
    (record,) = await xihu.sent(UP)
    transferred = CloudEvent.from_bytes(record).payload()
    assert isinstance(transferred, PartTransferred)
    assert transferred.counted_dates == [date(2026, 11, 28), date(2026, 11, 30), date(2026, 12, 1)]
    assert transferred.counted_days == 3

    hangzhou.clock.set(datetime(2026, 12, 1, 10, 5, tzinfo=CHINA))
    await hangzhou.receive(UP, record)
    (work,) = [e for e in await hangzhou.events(Topics("hangzhou").work("planning")) if isinstance(e, HandlingStarted)]
    assert work.time_limit_days == 20 - 3

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'city-supervision.db'}")  # a database of its own

    async def supervision_database(schema: Any) -> SessionFactory:
        await migrate(engine, schema)
        return session_factory(engine)

    city_supervision = await world(supervision_database)  # the city's supervision, its default calendar
    opening = [e for e in await hangzhou.events(Topics("hangzhou").case_events) if e.case_id == case_id]
    await city_supervision.feed(*opening)
    part = await city_supervision.part(f"{case_id}-planning")
    assert part.deadline == datetime(2026, 12, 24, 17, tzinfo=CHINA), "17 working days after 1 December, by the city's calendar"
    await engine.dispose()


async def test_a_town_point_files_for_the_applicant_and_gets_the_reply_to_hand_over(centers: dict[str, Center]) -> None:
    """代办: the town point takes the application, files it at its district, follows it, and its one reply is
    the district's outcome; nothing of it is handled at the town."""
    town, xihu = centers["zhuantang"], centers["xihu"]
    joint = CATALOG.joint_matters["JM-REST-001"]
    filed = application(materials=materials_for(joint.code), staff_id="ZT-AGENT-02")
    case = (await town.submit(filed, None)).case
    assert case.handled_at == "xihu"
    assert [type(e).__name__ for e in await town.events(Topics("zhuantang").case_events)] == ["CaseSubmitted"]
    assert await town.events(Topics("zhuantang").work("market")) == [], "no work at the town: it is the district's"
    with pytest.raises(ActionNotAllowed, match="代办"):
        await town.actions.department_acts(case.case_id, "market", "m", Accept())

    (record,) = await town.sent(Topics("zhuantang").exchange("xihu"))
    assert json.loads(record)["lbsigkey"] == "zhuantang-1"
    await xihu.receive(Topics("zhuantang").exchange("xihu"), record, record)
    district = await xihu.actions.read(case.case_id)
    assert district is not None
    assert district.filed_by_agent == "zhuantang"
    assert district.staff_id == "zhuantang:ZT-AGENT-02"
    orders = await xihu.events(Topics("xihu").work("market"))
    assert len(orders) == 1, "the district's departments get the work, once"
    for department in ("market", "fire", "tax"):
        await xihu.actions.department_acts(case.case_id, department, f"{department}-01", Accept())
    for department in ("market", "fire", "tax"):
        await xihu.actions.department_acts(
            case.case_id, department, f"{department}-01", Approve(document_number=f"{department}-9")
        )

    (concluded,) = await xihu.sent(Topics("xihu").exchange("zhuantang"))
    await town.receive(Topics("xihu").exchange("zhuantang"), concluded)
    assert town.dead.letters == []
    followed = await town.actions.read(case.case_id)
    assert followed is not None
    assert (followed.state, followed.outcome) == (CaseState.CONCLUDED, Outcome.APPROVED)
    (conclusion,) = [e for e in await town.events(Topics("zhuantang").case_events) if isinstance(e, CaseConcluded)]
    assert {p.department: p.document_number for p in conclusion.parts} == {"market": "market-9", "fire": "fire-9", "tax": "tax-9"}


async def test_a_filing_the_district_cannot_take_comes_back_not_accepted_with_its_reasons(centers: dict[str, Center]) -> None:
    town, xihu = centers["zhuantang"], centers["xihu"]
    case = (await town.submit(application(), None)).case
    (record,) = await town.sent(Topics("zhuantang").exchange("xihu"))
    body = json.loads(record)
    bare = {k: v for k, v in body.items() if not k.startswith("lbsig")}
    unknown = town.actions.outbox.center_signer.sign_event(bare | {"data": bare["data"] | {"matter_code": "JM-NOPE"}})  # type: ignore[union-attr]
    await xihu.receive(Topics("zhuantang").exchange("xihu"), unknown)
    (back,) = await xihu.sent(Topics("xihu").exchange("zhuantang"))
    await town.receive(Topics("xihu").exchange("zhuantang"), back)
    followed = await town.actions.read(case.case_id)
    assert followed is not None
    assert followed.state is CaseState.NOT_ACCEPTED
    assert await xihu.actions.read(case.case_id) is None
