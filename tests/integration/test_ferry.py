"""The ferry bridge end to end: the center's FerryConnector and the department's agent, each with its own
directories, joined by a ferry whose every copy the test makes, and the department's system (the
simulator) behind the agent. Whatever the ferry loses, repeats, reorders or alters, every answer arrives
once, in order, with the department's own time; an operator can give up on a bundle that never comes."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from sqlalchemy import select, update

from deploy import cli
from deploy.simulators.department_system import SimulatorSettings
from deploy.simulators.department_system import build as simulator_app
from services.department_adapter.adapters.ferry_connector import FerryConnector
from services.department_adapter.adapters.ferry_tables import FerryBundleOut, FerryOutbound
from services.department_adapter.adapters.http_connector import HttpConnector
from services.department_adapter.adapters.orm import SCHEMA, InboxItem, WorkStatus
from services.department_adapter.domain.answer import item_id
from services.department_adapter.service_layer.accept import AcceptWork
from services.department_adapter.service_layer.dispatch import Dispatcher
from services.ferry_agent.agent import FerryAgent
from services.ferry_agent.tables import AgentOutbound, Base
from shared.canonical import canonical_json
from shared.clock import ManualClock
from shared.contracts import (
    Accept,
    CloudEvent,
    DeadLetter,
    DepartmentActed,
    EventData,
    HandlingStarted,
    WorkOrder,
    WorkReceived,
)
from shared.db import SessionFactory
from shared.ferry.bundle import file_name
from shared.messaging.consumer import DeadLetters, Delivery
from shared.messaging.outbox import Outbox, OutboxRow
from shared.signing import KeyRegistry, Signer, new_key_pair
from shared.topics import Topics
from tests.builders import fire_work_order, handling_of
from tests.servers import MakeSessions

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TOPICS = Topics("demo")
DEPARTMENT = "fire"
CENTER_SENDS, DEPARTMENT_SENDS = "center:demo/fire", "department:fire"
NEVER = 3600.0  # the loops' own rounds: the test makes each step itself
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 60.0, every: float = 0.01) -> T:
    deadline = time.monotonic() + timeout
    while (found := await probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        await asyncio.sleep(every)
    return found


def work_order(n: int) -> WorkOrder:
    return fire_work_order(f"LB{n}", applicant_no=n, issued_at=T0)


def handling(n: int) -> HandlingStarted:
    return handling_of(work_order(n), T0)


@dataclass
class Ferry:
    """The one-way copies, each made by the test: from one side's outgoing directory to the other's incoming."""

    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    def to_department(self, *seqs: int) -> None:
        for seq in seqs:
            shutil.copy(self.path("center-out") / file_name(CENTER_SENDS, seq), self.path("department-in"))

    def to_center(self, *seqs: int) -> float:
        for seq in seqs:
            shutil.copy(self.path("department-out") / file_name(DEPARTMENT_SENDS, seq), self.path("center-in"))
        return time.monotonic()

    def everything(self) -> None:
        """What a working ferry does: every new file across."""
        for source, target in (("center-out", "department-in"), ("department-out", "center-in")):
            for path in self.path(source).glob("*.bundle"):
                copied = self.path(target) / path.name
                if not copied.exists() and not (self.path(target) / "applied" / path.name).exists():
                    shutil.copy(path, copied)


@dataclass
class World:
    sessions: SessionFactory
    clock: ManualClock  # the center's
    agent_clock: ManualClock  # the department side's
    connector: FerryConnector
    dispatcher: Dispatcher
    agent: FerryAgent
    ferry: Ferry
    simulator: str
    offset: int = 0

    async def put(self, *work: EventData) -> None:
        """Work taken off the department's topic; returns once the connector has queued each for the ferry."""
        deliveries = []
        for data in work:
            event = CloudEvent.wrap(data, source="/test/intake", subject=getattr(data, "case_id", "LB1"))
            raw, self.offset = event.to_bytes(), self.offset + 1
            record: ConsumerRecord[Any, Any] = ConsumerRecord(
                TOPICS.work(DEPARTMENT), 0, self.offset, 0, 0, event.subject.encode(), raw, None, 0, len(raw), ()
            )
            deliveries.append(Delivery(record, event, data))
        async with self.sessions() as session, session.begin():
            await AcceptWork(self.clock).apply(session, deliveries)
        self.dispatcher.notify()
        keys = [item_id(d) for d in work]

        async def queued() -> bool | None:
            async with self.sessions() as session:
                found = set(await session.scalars(select(FerryOutbound.key).where(FerryOutbound.key.in_(keys))))
            return True if len(found) == len(keys) else None

        await eventually(queued, f"{keys} never queued for the ferry")

    async def department_answers(self, *items: str) -> list[int]:
        """The agent reads what came, asks the department system, and writes its bundle."""
        await self.agent.receive()
        while await self.agent.deliver():
            pass
        async with self.sessions() as session:
            answered = set(await session.scalars(select(AgentOutbound.key)))
        assert {f"answer:{i}" for i in items} <= answered
        return await self.agent.send()

    async def answered(self, *items: str, every: float = 0.01, timeout: float = 60.0) -> list[InboxItem]:
        async def probe() -> list[InboxItem] | None:
            async with self.sessions() as session:
                found = list(await session.scalars(select(InboxItem).where(InboxItem.item_id.in_(items))))
            done = [i for i in found if i.status == WorkStatus.ANSWERED]
            return done if len(done) == len(items) else None

        return await eventually(probe, f"{items[:3]}… never answered", timeout, every)

    async def outbox(self, model: type[T]) -> list[T]:
        async with self.sessions() as session:
            rows = await session.scalars(select(OutboxRow.payload).order_by(OutboxRow.id))
            events = {(e := CloudEvent.from_bytes(raw)).id: e.payload() for raw in rows}  # once, whatever its topics
        return [e for e in events.values() if isinstance(e, model)]


def registry_with(directory: Path) -> tuple[Signer, Signer, Path]:
    """The center's ferry key and the agent's, both registered under the department."""
    center_key, center_public = new_key_pair(directory, "center-fire")
    agent_key, agent_public = new_key_pair(directory, "fire-agent")
    path = directory / "registry.json"
    keys = [{"key_id": "center-fire-1", "public_key": center_public}, {"key_id": "fire-agent-1", "public_key": agent_public}]
    path.write_text(json.dumps({DEPARTMENT: keys}))
    return Signer.load(center_key, "center-fire-1"), Signer.load(agent_key, "fire-agent-1"), path


async def served(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"


async def make_world(
    make_sessions: MakeSessions, tmp_path: Path, seconds: float = NEVER, start_agent: bool = False
) -> AsyncIterator[World]:
    sessions = await make_sessions(SCHEMA)
    await make_sessions(Base.metadata)  # the agent's tables, on the same server (its own database in production)
    center_signer, agent_signer, registry_path = registry_with(tmp_path / "keys")
    registry = KeyRegistry.load(registry_path)
    ferry = Ferry(tmp_path / "ferry")
    for name in ("center-out", "center-in", "department-out", "department-in"):
        ferry.path(name).mkdir(parents=True)
    clock, agent_clock = ManualClock(T0), ManualClock(T0)
    outbox = Outbox("/lianban/demo/adapter-fire", TOPICS)
    connector = FerryConnector(
        DEPARTMENT,
        sessions,
        outbox,
        center_signer,
        registry,
        ferry.path("center-out"),
        ferry.path("center-in"),
        clock,
        lambda: None,
        bundle_seconds=seconds,
        poll_seconds=seconds,
    )
    letters = DeadLetters(KafkaBroker("127.0.0.1:9"), TOPICS, "adapter-fire", outbox.source)
    dispatcher = Dispatcher(
        DEPARTMENT,
        sessions,
        connector,
        outbox,
        letters,
        clock,
        lambda: None,
        attempts=5,
        backoff=0.5,
        concurrency=64,
        poll_seconds=NEVER,
        idle_seconds=0.01,
    )
    server, serving, url = await served(simulator_app(SimulatorSettings(department=DEPARTMENT)))
    agent = FerryAgent(
        DEPARTMENT,
        "demo",
        sessions,
        HttpConnector(url, 10.0),
        agent_signer,
        registry,
        ferry.path("department-in"),
        ferry.path("department-out"),
        agent_clock,
        poll_seconds=seconds,
        bundle_seconds=seconds,
        ask_again_seconds=60.0,
        concurrency=64,
    )
    await connector.start(dispatcher.expedite)
    dispatcher.start()
    if start_agent:
        await agent.start()
    try:
        yield World(sessions, clock, agent_clock, connector, dispatcher, agent, ferry, url)
    finally:
        await dispatcher.stop()
        await connector.close()
        await agent.stop()
        server.should_exit = True
        await serving


@pytest.fixture
async def world(make_sessions: MakeSessions, tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(make_sessions, tmp_path):
        yield made


async def test_answers_cross_days_later_and_keep_the_departments_own_times(world: World) -> None:
    await world.put(work_order(1))
    assert await world.connector.send() == [1]
    world.ferry.to_department(1)
    assert await world.department_answers("LB1-fire#review1") == [1]
    world.clock.set(T0 + timedelta(days=3))  # the ferry crosses three days later
    world.ferry.to_center(1)
    await world.connector.receive()
    await world.answered("LB1-fire#review1")

    async with httpx.AsyncClient() as client:  # the department is still deciding the handling
        await client.put(f"{world.simulator}/gov/v1/rules/{work_order(1).applicant.id_number}", json={"decision": "silent"})
    await world.put(handling(1))
    assert await world.connector.send() == [2]
    world.ferry.to_department(2)
    world.agent_clock.set(T0 + timedelta(days=1))
    await world.agent.receive()
    await world.agent.deliver()
    assert await world.agent.send() == [2]  # the receipt only
    world.ferry.to_center(2)
    await world.connector.receive()
    receipt = await eventually(lambda: _first(world.outbox(WorkReceived)), "no receipt published")

    async with httpx.AsyncClient() as client:
        await client.put(f"{world.simulator}/gov/v1/rules/{work_order(1).applicant.id_number}", json={"decision": "approve"})
    world.agent_clock.set(T0 + timedelta(days=2))  # asked again, a day later: decided
    assert await world.department_answers("LB1-fire#handle") == [3]
    world.clock.set(T0 + timedelta(days=5))
    world.ferry.to_center(3)
    await world.connector.receive()
    await world.answered("LB1-fire#handle")

    review, decision = await world.outbox(DepartmentActed)
    assert (review.action, review.staff_id, review.acted_at) == (Accept(), "FIRE-STAFF-01", T0)
    assert (decision.action.kind, decision.acted_at) == ("approve", T0 + timedelta(days=2))
    assert (receipt.work, receipt.received_at) == ("handle", T0 + timedelta(days=1))
    facts = world.connector.facts()
    assert facts.last_contact_at == T0 + timedelta(days=5)
    assert facts.detail["last_bundle_in"]["seq"] == 3
    assert facts.detail["last_bundle_out"]["seq"] == 2
    assert (facts.detail["expecting"], facts.detail["held"], facts.detail["missing"]) == (4, [], [])


async def _first(found: Awaitable[list[T]]) -> T | None:
    items = await found
    return items[0] if items else None


async def three_answers(world: World) -> list[str]:
    """Three work orders, each answered in its own bundle of the department's (1, 2, 3)."""
    items = []
    for n in (1, 2, 3):
        await world.put(work_order(n))
        [seq] = await world.connector.send()
        world.ferry.to_department(seq)
        items.append(f"LB{n}-fire#review1")
        assert await world.department_answers(items[-1]) == [n]
    return items


async def test_a_dropped_bundle_holds_the_later_ones_until_it_comes_then_all_apply_once_in_order(world: World) -> None:
    items = await three_answers(world)
    world.ferry.to_center(1, 3)  # bundle 2 is lost on the way
    await world.connector.receive()
    await world.answered(items[0])

    facts = world.connector.facts().detail
    assert (facts["expecting"], facts["held"], facts["missing"]) == (2, [3], [2])
    assert [a.work_order_id for a in await world.outbox(DepartmentActed)] == ["LB1-fire"]

    copied = world.ferry.to_center(2)  # found again, and copied
    await world.connector.receive()
    await world.answered(*items)
    print(f"\nferry recovery: {time.monotonic() - copied:.3f} s from the missing bundle's copy to every held answer applied")

    assert sorted(a.work_order_id for a in await world.outbox(DepartmentActed)) == ["LB1-fire", "LB2-fire", "LB3-fire"]
    facts = world.connector.facts().detail
    assert (facts["expecting"], facts["held"], facts["missing"]) == (4, [], [])


async def test_a_repeated_bundle_changes_nothing_and_reordered_ones_apply_in_sequence(world: World) -> None:
    items = await three_answers(world)
    world.ferry.to_center(3)
    await world.connector.receive()
    world.ferry.to_center(2)
    await world.connector.receive()
    assert world.connector.facts().detail["held"] == [2, 3]
    assert world.connector.facts().detail["missing"] == [1]

    world.ferry.to_center(1)
    await world.connector.receive()
    await world.answered(*items)
    world.ferry.to_center(1, 2)  # the ferry delivers them again
    await world.connector.receive()

    assert len(await world.outbox(DepartmentActed)) == 3
    assert await world.outbox(DeadLetter) == []
    assert world.connector.facts().detail["expecting"] == 4


async def test_a_tampered_bundle_is_refused_and_dead_lettered_and_the_genuine_one_still_applies(world: World) -> None:
    items = await three_answers(world)
    genuine = world.ferry.path("department-out") / file_name(DEPARTMENT_SENDS, 1)
    body = json.loads(genuine.read_bytes())
    body["entries"][-1]["action"] = {"kind": "refuse", "reason": "被改动"}
    (world.ferry.path("center-in") / genuine.name).write_bytes(canonical_json(body))
    await world.connector.receive()

    [letter] = await world.outbox(DeadLetter)
    assert (letter.consumer, letter.offset, letter.department) == ("ferry-fire", 1, DEPARTMENT)
    assert letter.error == "第 2 条内容与清单的校验值不符 (entry 2 does not match its SHA-256)"
    assert letter.topic == f"ferry:{world.ferry.path('center-in')}"
    assert json.loads(letter.original) == body
    refused = world.connector.facts().detail["refused"]
    assert refused == {"count": 1, "last_reason": letter.error}

    world.ferry.to_center(1, 2, 3)
    await world.connector.receive()
    await world.answered(*items)
    assert [a.action for a in await world.outbox(DepartmentActed)] == [Accept()] * 3


async def test_a_bundle_the_department_side_refuses_is_reported_back_as_a_dead_letter(world: World) -> None:
    await world.put(work_order(1))
    await world.connector.send()
    sent = world.ferry.path("center-out") / file_name(CENTER_SENDS, 1)
    body = json.loads(sent.read_bytes())
    body["manifest"]["recipient"] = "department:tax"  # altered after signing
    (world.ferry.path("department-in") / sent.name).write_bytes(canonical_json(body))
    await world.agent.receive()
    assert await world.agent.send() == [1]
    world.ferry.to_center(1)
    await world.connector.receive()

    [letter] = await world.outbox(DeadLetter)
    assert (letter.consumer, letter.offset) == ("ferry-agent-fire", 1)
    assert letter.error.startswith("部门侧拒收第 1 号摆渡包 center_demo_fire-0000000001.bundle: 签名无效")
    async with world.sessions() as session:
        assert letter.original.encode() == await session.scalar(select(FerryBundleOut.content).where(FerryBundleOut.seq == 1))


async def test_an_operator_waives_a_bundle_that_never_comes_and_the_held_ones_apply(
    world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = await three_answers(world)
    world.ferry.to_center(2, 3)  # bundle 1 never comes
    await world.connector.receive()
    assert world.connector.facts().detail["missing"] == [1]

    monkeypatch.setenv("LIANBAN_ADAPTER_DATABASE_URL", database_url)
    await asyncio.to_thread(cli.main, ["ferry", "waive", "--department", DEPARTMENT, "--seq", "1"])
    await world.connector.receive()

    await world.answered(*items[1:])
    facts = world.connector.facts().detail
    assert (facts["expecting"], facts["held"], facts["missing"]) == (4, [], [])
    world.ferry.to_center(1)  # it came after all: applied, its answer taken once
    await world.connector.receive()
    await world.answered(*items)
    assert len(await world.outbox(DepartmentActed)) == 3


async def test_a_bundle_stored_but_not_written_before_a_crash_is_written_at_start_byte_identical(world: World) -> None:
    await world.put(work_order(1))
    [seq] = await world.connector.send()
    path = world.ferry.path("center-out") / file_name(CENTER_SENDS, seq)
    written = path.read_bytes()
    path.unlink()
    async with world.sessions() as session, session.begin():
        await session.execute(update(FerryBundleOut).values(written_at=None))

    await world.connector.start(world.dispatcher.expedite)

    assert path.read_bytes() == written


async def test_throughput_of_work_orders_through_the_ferry(make_sessions: MakeSessions, tmp_path: Path) -> None:
    """Printed, not asserted: work orders a second through connector, ferry, agent and simulated system."""
    count = 200  # make bench-bridges gives the figures; this keeps the path from rotting
    async for world in make_world(make_sessions, tmp_path, seconds=0.05, start_agent=True):
        carrying = asyncio.create_task(_carry(world.ferry))
        try:
            started = time.monotonic()
            await world.put(*(work_order(n) for n in range(1, count + 1)))
            items = [f"LB{n}-fire#review1" for n in range(1, count + 1)]
            await world.answered(*items, every=0.2, timeout=180)  # looks seldom; a loaded CI machine is slow
            took = time.monotonic() - started
        finally:
            carrying.cancel()
        print(f"\nferry throughput: {count} work orders in {took:.2f} s, {count / took:.0f} work orders/s")
        assert len(await world.outbox(DepartmentActed)) == count


async def _carry(ferry: Ferry) -> None:
    while True:
        ferry.everything()
        await asyncio.sleep(0.02)
