"""The intermediate-database bridge (前置机 + 中间库): the adapter's connector writes work rows, the
department's system (simulated, its poll run in-process) takes them and writes one result row per
item, and the connector turns each into Lianban's answer, with the department's own times. Every test
runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from deploy.postgres_local import create_database
from deploy.simulators.database_system import DatabaseSimulatorSettings, DatabaseSystem
from services.department_adapter.adapters.connector import ConnectorError, WorkRefused
from services.department_adapter.adapters.database_connector import DatabaseConnector
from services.department_adapter.adapters.interface_tables import result_table, work_table
from services.department_adapter.domain.answer import Answer, InTransit, NotYetDecided, item_id
from shared.clock import ManualClock
from shared.contracts import (
    Accept,
    Approve,
    Certificate,
    Deny,
    DepartmentAction,
    HandlingStarted,
    MaterialFile,
    Refuse,
    RequestSupplement,
    RequireRectification,
    SupervisionAlert,
    SupplementItem,
    WorkOrder,
)
from tests.builders import fire_work_order, handling_of

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TAKEN_AT = T0 + timedelta(minutes=7)  # the department's clock: when its system polled
INTAKE = "https://intake.center.example"
FIRE_LAW = "《中华人民共和国消防法》第十五条"
SHA = "5f3c0a8d2b7e41c96e0d8a3b1c2f4e6a7b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e"
FILE = MaterialFile(
    name="场所消防安全制度", sha256=SHA, size=184320, media_type="application/pdf", url=f"/api/v1/materials/{SHA}?case_id=LB1"
)
MATERIALS = {"消防安全检查申请表": "doc://hangzhou/8f2c", "场所消防安全制度": f"sha256:{SHA}"}
E = TypeVar("E", bound=BaseException)


def order(n: int = 1, round: int = 1) -> WorkOrder:
    return fire_work_order(f"LB{n}", applicant_no=n, round=round, materials=MATERIALS, files=[FILE], issued_at=T0)


def handling(n: int = 1) -> HandlingStarted:
    return handling_of(order(n), T0)


RED_CARD = SupervisionAlert(
    alert_id="AL-9",
    case_id="LB1",
    work_order_id="LB1-fire",
    department="fire",
    kind="red_card",
    message="您部门承办的事项已超期，请立即办理",
    deadline=T0,
    issued_by="supervision",
    issued_at=T0,
)


async def raised(kind: type[E], call: Awaitable[Any]) -> E:
    with pytest.raises(kind) as caught:
        await call
    return caught.value


@pytest.fixture
async def connector(database_url: str) -> AsyncIterator[DatabaseConnector]:
    connector = DatabaseConnector("fire", database_url, INTAKE, poll_seconds=3600, clock=ManualClock(T0))
    yield connector
    await connector.close()


@pytest.fixture
async def system(database_url: str, connector: DatabaseConnector) -> AsyncIterator[DatabaseSystem]:
    """The department's system, on the department's clock (its loop is not started: tests call poll)."""
    system = DatabaseSystem(
        DatabaseSimulatorSettings(department="fire", interface_database_url=database_url), ManualClock(TAKEN_AT)
    )
    yield system
    await system.engine.dispose()


async def count(connector: DatabaseConnector, table: Any) -> int:
    async with connector.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_work_order_and_its_handling_are_answered_through_the_intermediate_database(
    connector: DatabaseConnector, system: DatabaseSystem
) -> None:
    await raised(InTransit, connector.pre_review(order()))
    await system.poll()
    assert await connector.pre_review(order()) == Answer(Accept(), "FIRE-STAFF-01", TAKEN_AT)

    await raised(InTransit, connector.decide(handling()))
    await system.poll()
    decision = await connector.decide(handling())
    assert isinstance(decision.action, Approve)
    assert decision.action.document_number == f"FIRE-{datetime.now():%Y}-000001"
    assert (decision.staff_id, decision.acted_at) == ("FIRE-STAFF-01", TAKEN_AT)

    await raised(InTransit, connector.notify(RED_CARD))
    await system.poll()
    assert await connector.notify(RED_CARD) == "FIRE-STAFF-01"


async def test_work_is_in_transit_until_taken_then_not_yet_decided_since_the_departments_taking(
    connector: DatabaseConnector, system: DatabaseSystem
) -> None:
    await raised(InTransit, connector.decide(handling()))
    assert await system.take() == 1
    still = await raised(NotYetDecided, connector.decide(handling()))
    assert still.received_at == TAKEN_AT


async def test_the_work_row_is_written_once_however_often_asked(connector: DatabaseConnector) -> None:
    for _ in range(3):
        await raised(InTransit, connector.pre_review(order(round=2)))
    assert await count(connector, work_table) == 1
    async with connector.engine.connect() as connection:
        row = (await connection.execute(select(work_table))).mappings().one()
    assert (row["item_id"], row["step"], row["review_round"], row["created_at"]) == ("LB1-fire#review2", "review2", 2, T0)
    assert (row["applicant_id_number"], row["taken_at"]) == ("91330100MA2H000001", None)
    assert json.loads(row["materials"]) == [
        {"name": "消防安全检查申请表", "url": "doc://hangzhou/8f2c"},
        {"name": FILE.name, "url": f"{INTAKE}{FILE.url}", "sha256": SHA, "size": 184320, "mediaType": "application/pdf"},
    ]


async def test_a_second_result_for_the_same_step_is_refused_by_the_database(
    connector: DatabaseConnector, system: DatabaseSystem, database_url: str
) -> None:
    await raised(InTransit, connector.decide(handling()))
    await system.poll()
    await system.poll()
    restarted = DatabaseSystem(system.settings, ManualClock(TAKEN_AT + timedelta(hours=1)))
    try:
        await restarted.poll()
    finally:
        await restarted.engine.dispose()
    assert await count(connector, result_table) == 1  # neither a second poll nor a restart answered again

    second = {"item_id": "LB1-fire#handle", "department": "fire", "verdict": "REJECT", "decided_at": T0, "written_at": T0}
    with pytest.raises(IntegrityError):
        async with connector.engine.begin() as connection:
            await connection.execute(insert(result_table).values(second))
    assert isinstance((await connector.decide(handling())).action, Approve)


@pytest.mark.parametrize(
    ("result", "action"),
    [
        (
            {"verdict": "SUPPLEMENT", "missing": '[{"name": "疏散预案", "reason": "缺页"}]'},
            RequestSupplement(items=[SupplementItem(material="疏散预案", reason="缺页")]),
        ),
        (
            {"verdict": "REFUSE", "opinion": "不属于受理范围", "law_basis": FIRE_LAW},
            Refuse(reason="不属于受理范围", legal_basis=FIRE_LAW),
        ),
        (
            {"verdict": "REJECT", "opinion": "通道不足", "law_basis": FIRE_LAW},
            Deny(legal_basis=FIRE_LAW, reason="通道不足", written_opinion="通道不足"),
        ),
        ({"verdict": "RECTIFY", "rectify_items": '["增设应急照明"]'}, RequireRectification(items=["增设应急照明"])),
        (
            {
                "verdict": "PASS",
                "doc_no": "杭消〔2026〕0123号",
                "docs": '["合格证"]',
                "certificates": f'[{{"name": "合格证", "sha256": "{SHA}"}}]',
            },
            Approve(
                document_number="杭消〔2026〕0123号", documents=["合格证"], certificates=[Certificate(name="合格证", sha256=SHA)]
            ),
        ),
    ],
    ids=["SUPPLEMENT", "REFUSE", "REJECT", "RECTIFY", "PASS"],
)
async def test_each_verdict_of_the_result_table_becomes_the_lianban_action(
    connector: DatabaseConnector, result: dict[str, str], action: DepartmentAction
) -> None:
    work: WorkOrder | HandlingStarted = order() if result["verdict"] in ("SUPPLEMENT", "REFUSE") else handling()

    async def ask() -> Answer:
        return await (connector.pre_review(work) if isinstance(work, WorkOrder) else connector.decide(work))

    await raised(InTransit, ask())
    await write_result(connector, item_id(work) or "", {**result, "handler": "FIRE-0042"})
    assert await ask() == Answer(action, "FIRE-0042", TAKEN_AT)


async def write_result(connector: DatabaseConnector, item: str, result: dict[str, str]) -> None:
    async with connector.engine.begin() as connection:
        await connection.execute(
            insert(result_table).values(item_id=item, department="fire", decided_at=TAKEN_AT, written_at=TAKEN_AT, **result)
        )


async def test_work_the_department_refuses_as_invalid_is_refused_and_nonsense_is_an_error(connector: DatabaseConnector) -> None:
    await raised(InTransit, connector.pre_review(order(1)))
    await write_result(connector, "LB1-fire#review1", {"verdict": "INVALID", "opinion": "申请人证件号码格式错误"})
    refused = await raised(WorkRefused, connector.pre_review(order(1)))
    assert "申请人证件号码格式错误" in str(refused)

    await raised(InTransit, connector.pre_review(order(2)))
    await write_result(connector, "LB2-fire#review1", {"verdict": "MAYBE"})
    error = await raised(ConnectorError, connector.pre_review(order(2)))
    assert not isinstance(error, WorkRefused)
    assert "unknown pre-review verdict 'MAYBE'" in str(error)


async def test_news_comes_for_work_taken_and_for_work_answered(connector: DatabaseConnector, system: DatabaseSystem) -> None:
    news: list[str] = []
    await connector.start(news.extend)
    await raised(InTransit, connector.pre_review(order(1)))
    await raised(InTransit, connector.decide(handling(2)))
    await connector.poll()
    assert news == []

    await system.take()
    await connector.poll()
    assert sorted(news) == ["LB1-fire#review1", "LB2-fire#handle"]  # taken: the receipt is due

    news.clear()
    await system.answer()
    await connector.poll()
    assert sorted(news) == ["LB1-fire#review1", "LB2-fire#handle"]
    await connector.poll()
    assert sorted(news) == ["LB1-fire#review1", "LB2-fire#handle"]  # each answer is news once


async def test_the_poll_loop_brings_news_by_itself(database_url: str, system: DatabaseSystem) -> None:
    connector = DatabaseConnector("fire", database_url, INTAKE, poll_seconds=0.05, clock=ManualClock(T0))
    news: list[str] = []
    try:
        await connector.start(news.extend)
        await raised(InTransit, connector.pre_review(order()))
        await system.poll()
        await eventually(lambda: "LB1-fire#review1" in news)
    finally:
        await connector.close()


async def test_facts_show_the_departments_last_poll_and_what_waits(connector: DatabaseConnector, system: DatabaseSystem) -> None:
    await connector.start(lambda _items: None)
    assert connector.facts().last_contact_at is None
    await raised(InTransit, connector.pre_review(order(1)))
    await system.poll()
    await raised(InTransit, connector.pre_review(order(2)))  # after the department's poll: waits
    await connector.poll()

    facts = connector.facts()
    assert facts.last_contact_at == TAKEN_AT
    assert facts.detail == {
        "last_poll_at": TAKEN_AT.isoformat(),
        "system": "fire-approval-system",
        "results_read": 1,
        "not_taken": 1,
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # free, and closed again: nobody listens there


@pytest.mark.parametrize(
    "url",
    [f"postgresql+asyncpg://lianban:x@127.0.0.1:{closed_port()}/none", "sqlite+aiosqlite:////nonexistent/dir/interface.db"],
    ids=["postgresql", "sqlite"],
)
async def test_a_database_that_cannot_be_reached_is_a_connector_error_not_a_crash(url: str) -> None:
    connector = DatabaseConnector("fire", url, INTAKE, poll_seconds=0.01, clock=ManualClock(T0), timeout=5)
    try:
        await connector.start(lambda _items: None)
        for ask in (connector.pre_review(order()), connector.decide(handling()), connector.notify(RED_CARD)):
            error = await raised(ConnectorError, ask)
            assert not isinstance(error, WorkRefused)
        await asyncio.sleep(0.1)  # several polls failed meanwhile
        assert connector.polling.running
        assert connector.facts().last_contact_at is None
    finally:
        await connector.close()


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        await asyncio.sleep(0.02)


async def test_throughput_on_postgresql(postgres_server: str) -> None:
    """Prints (does not assert) work orders per second: pre-review and handling of each, end to end."""
    url = await create_database(postgres_server, f"bridge_{uuid.uuid4().hex[:12]}")
    connector = DatabaseConnector("fire", url, INTAKE, poll_seconds=3600)
    system = DatabaseSystem(DatabaseSimulatorSettings(department="fire", interface_database_url=url))
    orders, limit = 500, asyncio.Semaphore(32)

    async def ask(call: Callable[[], Awaitable[Answer]]) -> Answer | Exception:
        async with limit:
            try:
                return await call()
            except (InTransit, NotYetDecided) as exc:
                return exc

    async def round_trip(calls: list[Callable[[], Awaitable[Answer]]]) -> list[Answer | Exception]:
        assert all(isinstance(r, InTransit) for r in await asyncio.gather(*(ask(c) for c in calls)))
        await system.poll()
        return await asyncio.gather(*(ask(c) for c in calls))

    try:
        started = time.perf_counter()
        reviews = await round_trip([partial(connector.pre_review, order(n)) for n in range(orders)])
        decisions = await round_trip([partial(connector.decide, handling(n)) for n in range(orders)])
        elapsed = time.perf_counter() - started
    finally:
        await connector.close()
        await system.engine.dispose()
    assert all(isinstance(r, Answer) and isinstance(r.action, Accept) for r in reviews)
    assert all(isinstance(d, Answer) and isinstance(d.action, Approve) for d in decisions)
    print(
        f"\ndatabase bridge on PostgreSQL: {orders} work orders (pre-review and handling) in {elapsed:.2f} s, "
        f"{orders / elapsed:.0f} work orders/s"
    )
