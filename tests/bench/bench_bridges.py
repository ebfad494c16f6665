"""`make bench-bridges`: the throughput of each bridge of the department adapter, measured alike.

N work orders of the fire department, each a piece of work twice over (its pre-review, round 1, then its
handling, issued as soon as the pre-review is answered: 2N pieces), from the center's side to the answers
back at the center's side, with simulated department systems that answer at once:

    http      HttpConnector -> the HTTP simulator (its own process, uvicorn on a free port)
    ferry     FerryConnector -> instant ferry -> lianban-ferry's FerryAgent -> the HTTP simulator; the
              connector and the agent in this process, each on its own database and its own directories,
              joined by a copy step that moves each bundle as soon as it is written
    database  DatabaseConnector -> intermediate database <- DatabaseSystem (its own process)
    kafka     WorkOrder events on the center's work topic -> MirrorMaker 2 -> the department's own
              broker -> the Kafka simulator (its own process) -> MirrorMaker 2 -> the center's actions topic

The first three are asked as the adapter's Dispatcher asks them (services/department_adapter/service_layer/
dispatch.py): at most `--concurrency` calls to the connector at once; a piece of work still in transit or
undecided waits, outside that limit, until the bridge's `news` names it, and is then asked again. The
Dispatcher's own inbox and outbox are left out: what is measured is the bridge. On Kafka there is no
connector: the bench produces each WorkOrder (at most `--concurrency` produce calls at once), reads the
DepartmentActed answers on the center's actions topic and produces each HandlingStarted when its
pre-review answer is read. Latency: from the first call (or the produce) of a piece of work to its answer.

    make bench-bridges BENCH_ARGS="--work 2000 --db postgres"
    python -m tests.bench.bench_bridges --work 500 --db both --bridges http,ferry
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from deploy.department_cluster import DepartmentCluster
from deploy.kafka_acls import ADMIN, center_departments, grant
from deploy.kafka_local import LocalKafka
from deploy.ports import free_port
from deploy.postgres_local import LocalPostgres, create_database
from services.department_adapter.adapters.connector import Connector, ConnectorError
from services.department_adapter.adapters.database_connector import DatabaseConnector
from services.department_adapter.adapters.ferry_connector import FerryConnector
from services.department_adapter.adapters.http_connector import HttpConnector
from services.department_adapter.adapters.interface_tables import METADATA
from services.department_adapter.adapters.orm import SCHEMA
from services.department_adapter.domain.answer import Answer, InTransit, NotYetDecided, item_id
from services.ferry_agent.agent import FerryAgent
from services.ferry_agent.tables import AgentBundleOut, AgentOutbound, Base
from shared.clock import SYSTEM_CLOCK
from shared.contracts import Accept, Approve, CloudEvent, DepartmentActed, EventData, HandlingStarted, WorkOrder
from shared.db import make_engine, session_factory
from shared.ferry.bundle import SUFFIX
from shared.messaging.outbox import Outbox
from shared.migrations import migrate
from shared.signing import KeyRegistry, Signer, new_key_pair
from shared.topics import Topics
from tests.builders import fire_work_order, handling_of

DEPARTMENT = "fire"
HEADERS = [("content-type", b"application/cloudevents+json")]
TICKS = os.sysconf("SC_CLK_TCK")
BRIDGES = ("http", "ferry", "database", "kafka")
RETRIES = 5  # a ConnectorError (a refused connection, a locked database) is retried this often, with backoff
Ask = Callable[[], Awaitable[Answer]]


# --- what a run measured -------------------------------------------------------------------------------


@dataclass
class Measured:
    bridge: str
    database: str
    orders: int
    seconds: float  # the first issue to the last answer
    latencies: list[float]  # each piece of work: issue to answer
    cpu: dict[str, float]  # process: CPU seconds while the run lasted
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        ordered = sorted(self.latencies)
        rate = self.orders / self.seconds
        cost = ", ".join(f"{name} {s * 1000 / self.orders:.2f}" for name, s in sorted(self.cpu.items(), key=lambda c: -c[1]))
        return (
            f"  {self.bridge:<9}{self.database:<10}{rate:>10.1f}{_ms(statistics.median(ordered)):>10}"
            f"{_ms(_at(ordered, 0.99)):>10}   {cost}"
        )


def _at(ordered: list[float], quantile: float) -> float:
    return ordered[max(0, int(len(ordered) * quantile) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def cpu_seconds(pid: int, children: bool = False) -> float | None:
    """user + system CPU of a process (and, with `children`, of its live children and those it reaped:
    a PostgreSQL server's backends); None once it is gone."""
    try:
        fields = _stat(pid)
    except FileNotFoundError:
        return None
    total = sum(int(f) for f in (fields[11:15] if children else fields[11:13]))  # utime, stime (cutime, cstime)
    if children:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    child = _stat(int(entry.name))
                    if int(child[1]) == pid:
                        total += int(child[11]) + int(child[12])
    return total / TICKS


def _stat(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces


class Meter:
    """CPU of named processes between `start()` and `stop()`."""

    def __init__(self, processes: dict[str, tuple[int, bool]]) -> None:
        self.processes, self.before, self.spent = processes, dict[str, float](), dict[str, float]()

    def start(self) -> None:
        self.before = {n: s for n, (pid, kids) in self.processes.items() if (s := cpu_seconds(pid, kids)) is not None}

    def stop(self) -> dict[str, float]:
        for name, (pid, kids) in self.processes.items():
            if name in self.before and (end := cpu_seconds(pid, kids)) is not None:
                self.spent[name] = end - self.before[name]
        return self.spent


# --- the work ------------------------------------------------------------------------------------------


def work_order(run: str, center: str, n: int) -> WorkOrder:
    return fire_work_order(f"LB{run}{n:06d}", applicant_no=n, center=center)


class Driver:
    """Asks a connector as the Dispatcher does: at most `concurrency` calls at once; work in transit or
    undecided waits (not counted against the limit) until the bridge's news names it, or `re_ask` passes."""

    def __init__(self, connector: Connector, concurrency: int, re_ask: float) -> None:
        self.connector, self.re_ask = connector, re_ask
        self.room = asyncio.Semaphore(concurrency)
        self.waiting: dict[str, asyncio.Event] = {}
        self.latencies: list[float] = []
        self.first: float | None = None
        self.last = 0.0
        self.calls = self.without_news = self.errors = 0

    def news(self, items: Iterable[str]) -> None:
        for item in items:
            if (event := self.waiting.get(item)) is not None:
                event.set()

    async def answer(self, item: str, ask: Ask) -> Answer:
        event = self.waiting.setdefault(item, asyncio.Event())
        issued: float | None = None
        failures = 0
        try:
            while True:
                event.clear()  # news from now on wakes it: also news that comes while it is being asked
                async with self.room:
                    issued = issued or time.perf_counter()
                    self.first = min(self.first or issued, issued)
                    self.calls += 1
                    try:
                        answer = await ask()
                    except (InTransit, NotYetDecided):
                        pass
                    except ConnectorError:
                        failures, self.errors = failures + 1, self.errors + 1
                        if failures >= RETRIES:
                            raise
                        await asyncio.sleep(0.1 * 2**failures)
                        continue
                    else:
                        self.last = max(self.last, now := time.perf_counter())
                        self.latencies.append(now - issued)
                        return answer
                try:
                    async with asyncio.timeout(self.re_ask):
                        await event.wait()
                except TimeoutError:
                    self.without_news += 1
        finally:
            self.waiting.pop(item, None)

    async def work_order(self, order: WorkOrder) -> None:
        """Pre-review, then the handling once it is accepted: the center's part, without the center."""
        review = await self.answer(_item(order), partial(self.connector.pre_review, order))
        assert isinstance(review.action, Accept), review
        work = handling_of(order)
        decision = await self.answer(_item(work), partial(self.connector.decide, work))
        assert isinstance(decision.action, Approve), decision

    async def run(self, orders: list[WorkOrder]) -> float:
        await asyncio.gather(*(self.work_order(o) for o in orders))
        assert self.first is not None
        return self.last - self.first

    def notes(self) -> list[str]:
        said = [f"{self.calls} connector calls"]
        if self.errors:
            said.append(f"{self.errors} ConnectorErrors retried")
        if self.without_news:
            said.append(f"{self.without_news} re-asked after {self.re_ask:g} s without news")
        return said


def _item(work: EventData) -> str:
    found = item_id(work)
    assert found is not None
    return found


# --- processes of our own ------------------------------------------------------------------------------


@dataclass
class Child:
    """A simulator in its own process, stopped by its own pid."""

    name: str
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_child(name: str, module: str, env: dict[str, str], log: Path) -> Child:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LIANBAN_", "KAFKA_"))}
    environment |= {"LIANBAN_SIM_DEPARTMENT": DEPARTMENT, "LIANBAN_SIM_PORT": str(port), "LIANBAN_LOG_LEVEL": "WARNING", **env}
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", module], env=environment, stdout=out, stderr=subprocess.STDOUT)
    child = Child(name, process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while not _healthy(child.url):
        if process.poll() is not None or time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"{name} did not start; see {log}:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return child


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def http_simulator(workdir: Path) -> Iterator[Child]:
    """The HTTP simulator answering at once: no file checks (no issuer), no certificates."""
    child = start_child("simulator", "deploy.simulators", {"LIANBAN_SIM_CERTIFICATES": "false"}, workdir / "simulator.log")
    try:
        yield child
    finally:
        child.stop()


# --- http ----------------------------------------------------------------------------------------------


def bench_http(args: argparse.Namespace, workdir: Path, run: str) -> Measured:
    with http_simulator(workdir) as simulator:

        async def go() -> Measured:
            connector = HttpConnector(simulator.url, 30.0)
            driver = Driver(connector, args.concurrency, args.re_ask)
            await connector.start(driver.news)
            meter = Meter({"bench": (os.getpid(), False), "simulator": (simulator.process.pid, False)})
            meter.start()
            try:
                seconds = await driver.run([work_order(run, "bench", n) for n in range(args.work)])
            finally:
                await connector.close()
            return Measured("http", "-", args.work, seconds, driver.latencies, meter.stop(), driver.notes())

        return asyncio.run(go())


# --- ferry ---------------------------------------------------------------------------------------------


class InstantFerry:
    """Moves each bundle from one side's outgoing directory to the other's incoming as soon as it is
    written (it is written under a temporary name, then renamed: a `.bundle` seen is whole). One of the
    department's bundles can be lost on the way, and brought later."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in ("center-out", "center-in", "department-out", "department-in", "lost"):
            (root / name).mkdir(parents=True, exist_ok=True)
        self.lose_next = False
        self.lost: list[Path] = []
        self.moved = 0

    def path(self, name: str) -> Path:
        return self.root / name

    def carry(self) -> None:
        for source, target in (("center-out", "department-in"), ("department-out", "center-in")):
            with os.scandir(self.path(source)) as entries:
                for entry in sorted(e.name for e in entries if e.name.endswith(SUFFIX)):
                    where = self.path(target)
                    if source == "department-out" and self.lose_next:
                        self.lose_next, where = False, self.path("lost")
                        self.lost.append(where / entry)
                    os.replace(self.path(source) / entry, where / entry)
                    self.moved += 1

    async def run(self, every: float) -> None:
        while True:
            self.carry()
            await asyncio.sleep(every)

    def bring_lost(self) -> None:
        for path in self.lost:
            os.replace(path, self.path("center-in") / path.name)
        self.lost = []


def ferry_keys(directory: Path) -> tuple[Signer, Signer, KeyRegistry]:
    directory.mkdir(parents=True, exist_ok=True)
    center_key, center_public = new_key_pair(directory, "center-fire")
    agent_key, agent_public = new_key_pair(directory, "fire-agent")
    keys = [{"key_id": "center-fire-1", "public_key": center_public}, {"key_id": "fire-agent-1", "public_key": agent_public}]
    registry = directory / "registry.json"
    registry.write_text(json.dumps({DEPARTMENT: keys}))
    return Signer.load(center_key, "center-fire-1"), Signer.load(agent_key, "fire-agent-1"), KeyRegistry.load(registry)


def bench_ferry(
    args: argparse.Namespace, workdir: Path, run: str, database: str, center_url: str, postgres: LocalPostgres | None
) -> tuple[Measured, str]:
    with http_simulator(workdir) as simulator:
        return asyncio.run(_ferry(args, workdir, run, database, center_url, simulator, postgres))


async def _ferry(
    args: argparse.Namespace,
    workdir: Path,
    run: str,
    database: str,
    center_url: str,
    simulator: Child,
    postgres: LocalPostgres | None,
) -> tuple[Measured, str]:
    center_engine, agent_engine = make_engine(center_url), make_engine(f"sqlite+aiosqlite:///{workdir / 'agent.db'}")
    await migrate(center_engine, SCHEMA)
    async with agent_engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    center_sessions, agent_sessions = session_factory(center_engine), session_factory(agent_engine)
    center_signer, agent_signer, registry = ferry_keys(workdir / "keys")
    ferry, center = InstantFerry(workdir / "ferry"), f"bench{run.lower()}"
    connector = FerryConnector(
        DEPARTMENT,
        center_sessions,
        Outbox(f"/lianban/{center}/adapter-{DEPARTMENT}", Topics(center)),
        center_signer,
        registry,
        ferry.path("center-out"),
        ferry.path("center-in"),
        SYSTEM_CLOCK,
        lambda: None,
        bundle_seconds=args.poll,
        poll_seconds=args.poll,
    )
    agent = FerryAgent(
        DEPARTMENT,
        center,
        agent_sessions,
        HttpConnector(simulator.url, 30.0),
        agent_signer,
        registry,
        ferry.path("department-in"),
        ferry.path("department-out"),
        SYSTEM_CLOCK,
        poll_seconds=args.poll,
        bundle_seconds=args.poll,
        ask_again_seconds=60.0,
        concurrency=args.concurrency,
    )
    driver = Driver(connector, args.concurrency, args.re_ask)
    await connector.start(driver.news)
    await agent.start()
    carrying = asyncio.create_task(ferry.run(0.01))
    processes = {"bench (connector+agent)": (os.getpid(), False), "simulator": (simulator.process.pid, False)}
    if database == "postgres" and postgres is not None and postgres.process is not None:
        processes["postgres"] = (postgres.process.pid, True)
    meter = Meter(processes)
    try:
        meter.start()
        seconds = await driver.run([work_order(run, center, n) for n in range(args.work)])
        cpu = meter.stop()
        notes = [*driver.notes(), f"{ferry.moved} bundles carried"]
        recovery = await _gap(driver, connector, agent, ferry, run, center, args.work, min(args.work, 100))
    finally:
        pool = logging.getLogger("sqlalchemy.pool")
        level = pool.level
        pool.setLevel(logging.CRITICAL)  # a loop's query cut off by its stop, logged by the pool: not news
        carrying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await carrying
        await connector.close()
        await agent.stop()
        await center_engine.dispose()
        await agent_engine.dispose()
        pool.setLevel(level)
    return Measured("ferry", database, args.work, seconds, driver.latencies, cpu, notes), recovery


async def _gap(
    driver: Driver,
    connector: FerryConnector,
    agent: FerryAgent,
    ferry: InstantFerry,
    run: str,
    center: str,
    first: int,
    count: int,
) -> str:
    """One of the department's bundles lost, more work sent and answered (its bundles held for the lost one),
    then the lost bundle brought: the time until every held answer is applied and answered to the caller."""
    pre_reviews: dict[str, float] = {}

    async def pre_review(order: WorkOrder) -> None:
        await driver.answer(_item(order), partial(connector.pre_review, order))
        pre_reviews[_item(order)] = time.perf_counter()

    ferry.lose_next = True
    before = [asyncio.create_task(pre_review(work_order(run, center, first + n))) for n in range(count // 2)]
    while not ferry.lost:
        await asyncio.sleep(0.005)
    after = [asyncio.create_task(pre_review(work_order(run, center, first + n))) for n in range(count // 2, count)]
    wanted = [f"answer:{_item(work_order(run, center, first + n))}" for n in range(count)]
    deadline = time.monotonic() + 120
    while True:  # every answer written by the agent and carried, and the connector holding what came after the gap
        async with agent.sessions() as session:
            written = await session.scalar(
                select(func.count())
                .select_from(AgentOutbound)
                .where(AgentOutbound.key.in_(wanted), AgentOutbound.bundle_seq.is_not(None))
            )
            last = await session.scalar(select(func.max(AgentBundleOut.seq)))
        state = connector.ledger.state
        if (
            written == count
            and not any(ferry.path("department-out").glob(f"*{SUFFIX}"))
            and state.held
            and max(state.held) == last
        ):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the ferry never held the bundles after the lost one: {state.detail()}")
        await asyncio.sleep(0.01)
    held, missing, waiting = list(state.held), list(state.missing), len(before) + len(after) - len(pre_reviews)
    brought = time.perf_counter()
    ferry.bring_lost()
    await asyncio.gather(*before, *after)
    took = max(pre_reviews.values()) - brought
    return (
        f"ferry recovery ({len(held)} bundles held behind "
        f"missing {missing}, {waiting} of {count} pre-reviews waiting): {took * 1000:.0f} ms from the lost "
        f"bundle's copy to every held answer applied and answered"
    )


# --- database ------------------------------------------------------------------------------------------


def bench_database(
    args: argparse.Namespace, workdir: Path, run: str, database: str, url: str, postgres: LocalPostgres | None
) -> Measured:
    async def tables() -> None:
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(METADATA.create_all)  # before either side: no two CREATEs racing
        await engine.dispose()

    asyncio.run(tables())
    env = {
        "LIANBAN_SIM_INTERFACE_DATABASE_URL": url,
        "LIANBAN_SIM_POLL_SECONDS": str(args.poll),
        "LIANBAN_SIM_CERTIFICATES": "false",
    }
    system = start_child("database system", "deploy.simulators.database_system", env, workdir / f"database-system-{database}.log")
    try:

        async def go() -> Measured:
            connector = DatabaseConnector(DEPARTMENT, url, poll_seconds=args.poll)
            driver = Driver(connector, args.concurrency, args.re_ask)
            await connector.start(driver.news)
            processes = {"bench (connector)": (os.getpid(), False), "database system": (system.process.pid, False)}
            if database == "postgres" and postgres is not None and postgres.process is not None:
                processes["postgres"] = (postgres.process.pid, True)
            meter = Meter(processes)
            meter.start()
            try:
                seconds = await driver.run([work_order(run, "bench", n) for n in range(args.work)])
            finally:
                await connector.close()
            return Measured("database", database, args.work, seconds, driver.latencies, meter.stop(), driver.notes())

        return asyncio.run(go())
    finally:
        system.stop()


# --- kafka ---------------------------------------------------------------------------------------------


def bench_kafka(args: argparse.Namespace, workdir: Path, run: str) -> tuple[Measured, list[str]]:
    center = f"bench{run.lower()}"
    broker = LocalKafka(workdir=workdir / "center-kafka")
    cluster: DepartmentCluster | None = None
    system: Child | None = None
    try:
        began = time.monotonic()
        access = broker.start()
        asyncio.run(grant(access.settings(ADMIN), center, center_departments()))
        center_ready = time.monotonic() - began
        cluster = DepartmentCluster(center, DEPARTMENT, access, workdir / "fire")
        began = time.monotonic()
        cluster.start()
        assert cluster.link is not None
        assert cluster.link.process is not None
        assert cluster.kafka.process is not None
        department_ready = time.monotonic() - began
        system = start_child(
            "kafka system", "deploy.simulators.kafka_system", cluster.env_for_system(), workdir / "kafka-system.log"
        )
        assert broker.process is not None
        meter = Meter(
            {
                "bench": (os.getpid(), False),
                "center broker": (broker.process.pid, False),
                "department broker": (cluster.kafka.process.pid, False),
                "mirror maker": (cluster.link.process.pid, False),
                "kafka system": (system.process.pid, False),
            }
        )
        measured = asyncio.run(_kafka(args, access.client_options(ADMIN), Topics(center), run, center, meter))
        startup = [
            f"kafka: center broker ready in {center_ready:.1f} s; department broker and mirror in {department_ready:.1f} s, "
            f"of which MirrorMaker 2 cold start (to replicating both ways) {cluster.link.ready_in or 0:.1f} s",
        ]
        return measured, startup
    finally:
        if system is not None:
            system.stop()
        if cluster is not None:
            cluster.stop()
        broker.stop()


async def _kafka(
    args: argparse.Namespace, options: dict[str, Any], topics: Topics, run: str, center: str, meter: Meter
) -> Measured:
    producer = AIOKafkaProducer(**options, acks="all", enable_idempotence=True, linger_ms=0)
    consumer = AIOKafkaConsumer(topics.actions(DEPARTMENT), **options, group_id=None, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    room = asyncio.Semaphore(args.concurrency)
    issued: dict[str, float] = {}
    answered: dict[str, float] = {}
    orders = {o.work_order_id: o for o in (work_order(run, center, n) for n in range(args.work))}
    sending: set[asyncio.Task[None]] = set()
    done = asyncio.Event()

    async def send(data: WorkOrder | HandlingStarted) -> None:
        async with room:
            issued[_item(data)] = time.perf_counter()
            raw = CloudEvent.wrap(data, source=f"/lianban/{center}/intake", subject=data.case_id).to_bytes()
            await producer.send_and_wait(topics.work(DEPARTMENT), raw, key=data.case_id.encode(), headers=HEADERS)

    def spawn(data: WorkOrder | HandlingStarted) -> None:
        task = asyncio.create_task(send(data))
        sending.add(task)
        task.add_done_callback(sending.discard)

    async def read() -> None:
        while len(answered) < 2 * args.work:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = time.perf_counter()
                for record in records:
                    acted = CloudEvent.from_bytes(record.value).payload()
                    if not isinstance(acted, DepartmentActed) or acted.work_order_id not in orders:
                        continue
                    review = isinstance(acted.action, Accept)
                    item = f"{acted.work_order_id}#review1" if review else f"{acted.work_order_id}#handle"
                    if item not in answered:
                        answered[item] = now
                        if review:
                            spawn(handling_of(orders[acted.work_order_id]))
        done.set()

    try:
        for _ in range(200):  # without a group: every partition once the topic's metadata is in, read from its end
            if partitions := consumer.assignment():
                break
            await asyncio.sleep(0.05)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)
        meter.start()
        reading = asyncio.create_task(read())
        for order in orders.values():
            spawn(order)
        await asyncio.wait_for(done.wait(), timeout=max(120, args.work / 5))
        await reading
        cpu = meter.stop()
    finally:
        for task in list(sending):
            task.cancel()
        await consumer.stop()
        await producer.stop()
    latencies = [answered[i] - issued[i] for i in answered]
    seconds = max(answered.values()) - min(issued.values())
    notes = ["HandlingStarted produced when its pre-review answer is read"]
    return Measured("kafka", "-", args.work, seconds, latencies, cpu, notes)


# --- the whole run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=int, default=500, help="work orders (each a pre-review and a handling)")
    parser.add_argument(
        "--db", choices=["sqlite", "postgres", "both"], default="both", help="the ferry center's and the intermediate database"
    )
    parser.add_argument("--bridges", default=",".join(BRIDGES), help=f"comma-separated, of {', '.join(BRIDGES)}")
    parser.add_argument("--concurrency", type=int, default=64, help="connector calls (or produce calls) at once")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds: every store-and-forward loop (ferry, database)")
    parser.add_argument(
        "--re-ask", type=float, default=30.0, help="seconds: waiting work asked again without news (the Dispatcher's poll)"
    )
    args = parser.parse_args()
    bridges = [b.strip() for b in args.bridges.split(",") if b.strip()]
    if unknown := set(bridges) - set(BRIDGES):
        parser.error(f"unknown bridges: {', '.join(sorted(unknown))}")
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    workdir = Path(tempfile.mkdtemp(prefix="lianban-bench-bridges-"))
    run = uuid.uuid4().hex[:6].upper()
    wanted = "postgres" in databases and bool({"ferry", "database"} & set(bridges))
    postgres = LocalPostgres().start() if wanted else None  # its own directory: the server runs as another user
    measured: list[Measured] = []
    extra: list[str] = []
    began = time.monotonic()
    try:
        for bridge in bridges:
            if bridge == "http":
                (workdir / "http").mkdir()
                measured.append(bench_http(args, workdir / "http", run))
            for database in databases if bridge in ("ferry", "database") else []:
                where = workdir / f"{bridge}-{database}"
                where.mkdir()
                url = _url(postgres, where, f"{bridge}_{run.lower()}", database)
                if bridge == "ferry":
                    result, recovery = bench_ferry(args, where, run, database, url, postgres)
                    measured.append(result)
                    extra.append(f"{recovery} ({database})")
                else:
                    measured.append(bench_database(args, where, run, database, url, postgres))
            if bridge == "kafka":
                (workdir / "kafka").mkdir()
                result, startup = bench_kafka(args, workdir / "kafka", run)
                measured.append(result)
                extra += startup
    finally:
        if postgres is not None:
            postgres.stop()
            if postgres.workdir is not None:
                shutil.rmtree(postgres.workdir, ignore_errors=True)
    report(args, measured, extra, time.monotonic() - began)
    shutil.rmtree(workdir, ignore_errors=True)


def _url(postgres: LocalPostgres | None, where: Path, name: str, database: str) -> str:
    if database == "sqlite":
        return f"sqlite+aiosqlite:///{where / 'db.sqlite'}"
    assert postgres is not None
    return asyncio.run(create_database(postgres.url("postgres"), name))


def report(args: argparse.Namespace, measured: list[Measured], extra: list[str], took: float) -> None:
    print(
        f"{args.work} work orders of {DEPARTMENT} per bridge, each its pre-review then its handling ({2 * args.work} pieces "
        f"of work), {args.concurrency} calls at once, simulated systems answering at once; store-and-forward loops "
        f"every {args.poll:g} s; {os.cpu_count()} cores"
    )
    print("  latency: from a piece of work's first call to the bridge (kafka: its produce) to its answer at the center's side")
    print(
        f"  {'bridge':<9}{'database':<10}{'orders/s':>10}{'p50':>10}{'p99':>10}   "
        "CPU ms per work order, by process (postgres: server and backends)"
    )
    for m in measured:
        print(m.row())
    print("  ferry: database is the center's; the agent's is an SQLite file. database: the intermediate database.")
    for m in measured:
        print(f"  {m.bridge}/{m.database}: {'; '.join(m.notes)}; {m.seconds:.2f} s")
    for line in extra:
        print(f"  {line}")
    print(f"  the whole bench took {took:.0f} s")


if __name__ == "__main__":
    main()
