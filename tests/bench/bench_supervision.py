"""`make bench-supervision`: supervision with 1,000,000 open parts in its due-date index.

Prints the memory the service needs (deadlines live in the database index, not in timers), its
start-up time, and the lag between a burst of deadlines and their alerts, while events keep
being applied. On PostgreSQL, `--replicas N` runs N supervision processes on the one index: they
share the due parts out (row locks, SKIP LOCKED), and the bench checks each part was alerted once.

    make bench-supervision BENCH_ARGS="--parts 1000000 --burst 20000"
    make bench-supervision BENCH_ARGS="--db postgres --replicas 2"
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import queue
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, make_url, select, update

from deploy.postgres_local import LocalPostgres, create_database
from services.supervision.adapters.orm import SCHEMA, Alert, PartClock
from services.supervision.domain.ladder import Policy, overdue_from
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.clocks import Clocks
from services.supervision.service_layer.scan import LadderScanner
from services.supervision.service_layer.watch import Watcher
from shared.clock import SystemClock
from shared.contracts import AlertKind
from shared.db import make_engine, session_factory
from shared.departments import chinese_names, load_departments
from shared.messaging.outbox import Outbox
from shared.migrations import migrate
from shared.runtime import tune_collector
from shared.topics import Topics
from shared.workdays import WorkingCalendar
from tests.bench.processes import POSTGRES, cost_table, machine_speed, samples

COLUMNS = (
    "work_order_id",
    "case_id",
    "department",
    "part_code",
    "matter_code",
    "time_limit_days",
    "silence_means_yes",
    "started_at",
    "suspensions",
    "suspended_days",
    "extension_days",
    "pending_extension_days",
    "deadline",
    "urges",
    "urge_count",
    "reminded",
    "yellow",
    "red",
    "shirking",
    "deemed",
    "next_check_at",
    "ladder_round",
)
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # as SQLAlchemy stores a UTC datetime in SQLite
EVENTS_EVERY = 0.25  # seconds between the event batches each replica applies meanwhile
POLICY = Policy()


def rss_mb() -> float:
    """Resident memory now (not the peak: loading the rows is not the service's cost)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_parts(parts: int, burst: int, due_at: datetime) -> Iterator[tuple[Any, ...]]:
    """Open parts as rows in COLUMNS' order: `burst` of them due at `due_at`, the rest over the coming weeks.
    All are past their reminder: each of the burst is due a yellow card and an urge (most a red card too)."""
    started = due_at - timedelta(days=7)
    for n in range(parts):
        deadline = due_at if n < burst else due_at + timedelta(days=2 + n % 40, seconds=n % 3600)
        next_check = overdue_from(deadline) if n < burst else deadline - timedelta(days=1)
        department = ("tax", "fire", "market", "planning")[n % 4]
        case = f"LB{n:08d}"
        yield (
            f"{case}-{department}", case, department, "TAX-INVOICE", "JM-REST-001", 5, False, started, "[]",
            0, 0, 0, deadline, "[]", 0, True, False, False, False, False, next_check, 1,
        )  # fmt: skip


def load_sqlite(url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    """Plain sqlite3, in batches: the rows as the service would have written them (UTC, naive, text)."""
    conn = sqlite3.connect(make_url(url).database or "")
    conn.execute("PRAGMA journal_mode=WAL")  # as the service runs it
    statement = f"INSERT INTO part_clocks ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})"

    def stored(value: Any) -> Any:
        return value.astimezone(UTC).strftime(SQLITE_TIME) if isinstance(value, datetime) else value

    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(tuple(stored(v) for v in row))
        if len(batch) == 50_000:
            conn.executemany(statement, batch)
            batch = []
    conn.executemany(statement, batch)
    conn.commit()
    conn.close()


async def load_postgres(url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY, the way to load a million rows into PostgreSQL."""
    u = make_url(url)
    conn = await asyncpg.connect(user=u.username, password=u.password, host=u.host, port=u.port, database=u.database)
    try:
        await conn.copy_records_to_table("part_clocks", records=rows, columns=list(COLUMNS))
        await conn.execute("ANALYZE part_clocks")
    finally:
        await conn.close()


@dataclass(frozen=True)
class ReplicaReport:
    name: str
    startup_ms: float
    rss_before: float  # MiB, before it opened the service
    rss_after: float
    waits: list[tuple[float, float]]  # (wall time, seconds) of each event batch it applied
    failures: int  # scan batches that failed (and were retried)


class _Failures(logging.Handler):
    """Counts the scanner's failed batches: a conflict between replicas would show here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def replica(url: str, batch: int, out: Queue[Any], stop: Event) -> None:
    """One supervision process's scanner and its event batches, as the service runs them (a child process)."""
    asyncio.run(_replica(url, batch, out, stop))


async def _replica(url: str, batch: int, out: Queue[Any], stop: Event) -> None:
    tune_collector()  # as the service process does
    failures = _Failures()
    logging.getLogger(LadderScanner.__module__).addHandler(failures)
    rss_before = rss_mb()
    began = time.perf_counter()
    engine = make_engine(url)
    await migrate(engine, SCHEMA)
    sessions = session_factory(engine)
    calendar = WorkingCalendar()
    desk = AlertDesk(Outbox("/bench/supervision", Topics("bench")), chinese_names(load_departments()))
    scanner = LadderScanner(sessions, desk, calendar, POLICY, SystemClock(), lambda: None, batch_size=batch, interval=0.2)
    await scanner.scan_once()  # nothing is due yet: one index probe
    startup_ms = (time.perf_counter() - began) * 1000
    out.put("ready")
    watcher = Watcher(Clocks(calendar, POLICY))
    waits = []
    scanner.start()
    while not stop.is_set():  # meanwhile, event batches keep being applied: how long does each wait?
        t = time.perf_counter()
        async with sessions() as session, session.begin():
            await watcher.follow(session, [])
        waits.append((time.time(), time.perf_counter() - t))
        await asyncio.sleep(EVENTS_EVERY)
    await scanner.stop()
    await engine.dispose()
    name = multiprocessing.current_process().name
    out.put(ReplicaReport(name, startup_ms, rss_before, rss_mb(), waits, failures.count))


async def burst_due(url: str, burst: int, due_at: datetime) -> None:
    """The burst's parts fall due at `due_at` (loaded a day later, so start-up saw nothing due)."""
    engine = make_engine(url)
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            update(PartClock)
            .where(PartClock.work_order_id < f"LB{burst:08d}")
            .values(deadline=due_at, next_check_at=overdue_from(due_at))
        )
    await engine.dispose()


@dataclass(frozen=True)
class Cards:
    yellow: list[tuple[str, str, datetime]]  # (part, department, issued at) of each yellow card
    urged: int  # parts urged
    red: dict[str, int]  # red cards by department


async def alerted(url: str, burst: int, timeout: float) -> Cards:
    """Waits until the burst has its yellow cards (at most `timeout` seconds); then reads what was issued."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    began = time.perf_counter()
    yellow = Alert.kind == AlertKind.YELLOW.value
    while time.perf_counter() - began < timeout:
        async with sessions() as session:
            if (await session.scalar(select(func.count()).select_from(Alert).where(yellow)) or 0) >= burst:
                break
        await asyncio.sleep(EVENTS_EVERY)
    of_kind = select(Alert.work_order_id, Alert.department, Alert.issued_at).where
    async with sessions() as session:
        yellows = (await session.execute(of_kind(yellow))).all()
        urged = {part for part, _, _ in (await session.execute(of_kind(Alert.kind == AlertKind.URGE.value)))}
        reds = Counter(department for _, department, _ in (await session.execute(of_kind(Alert.kind == AlertKind.RED.value))))
        cards = Cards(list(yellows), len(urged), dict(reds))
    await engine.dispose()
    return cards


def run(parts: int, burst: int, batch: int, db: str, replicas: int) -> None:
    print(f"machine speed: {machine_speed():.2f} s for the probe (tests/bench/processes.py)")
    postgres, workdir = None, None
    try:
        if db == "postgres":
            postgres = LocalPostgres().start()
            url = asyncio.run(create_database(postgres.url("postgres"), "bench_supervision"))
        else:
            workdir = Path(tempfile.mkdtemp(prefix="lianban-bench-sup-"))
            url = f"sqlite+aiosqlite:///{workdir / 'supervision.db'}"
        _measure(url, postgres, parts, burst, batch, replicas)
    finally:
        if postgres:
            postgres.stop()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)  # the index of a million parts: ~270 MB


def _measure(url: str, postgres: LocalPostgres | None, parts: int, burst: int, batch: int, replicas: int) -> None:
    async def schema() -> None:
        engine = make_engine(url)
        await migrate(engine, SCHEMA)
        await engine.dispose()

    asyncio.run(schema())
    began = time.perf_counter()
    rows = open_parts(parts, burst, datetime.now(UTC) + timedelta(days=1))
    asyncio.run(load_postgres(url, rows)) if postgres else load_sqlite(url, rows)
    where = "PostgreSQL" if postgres else "SQLite"
    print(f"loaded {parts:,} open parts ({burst:,} due at the same moment) into {where} in {time.perf_counter() - began:.1f} s")

    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter each, as a service process is
    out: Queue[Any] = spawn.Queue()
    stop = spawn.Event()
    processes = [
        spawn.Process(target=replica, args=(url, batch, out, stop), name=f"supervision-{n + 1}", daemon=True)
        for n in range(replicas)
    ]
    for process in processes:
        process.start()
    try:
        assert _gather(out, processes, 300) == ["ready"] * replicas
        pids = {p.name: p.pid for p in processes if p.pid is not None}
        if postgres and postgres.process:
            pids[POSTGRES] = postgres.process.pid
        due_at = datetime.now(UTC) + timedelta(seconds=3)  # the burst falls due 3 s from now
        asyncio.run(burst_due(url, burst, due_at))
        time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()))
        before = samples(pids)
        cards = asyncio.run(alerted(url, burst, timeout=600))
        after = samples(pids)
        stop.set()
        reports: list[ReplicaReport] = sorted(_gather(out, processes, 60), key=lambda r: r.name)
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    _report(cards, due_at, burst, batch, parts, reports, cost_table(before, after, max(len(cards.yellow), 1), per="part"))


def _gather(out: Queue[Any], processes: Sequence[BaseProcess], timeout: float) -> list[Any]:
    """One message from each process; a process that ended without sending it fails the run at once."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(got) < len(processes):
        try:
            got.append(out.get(timeout=1))
        except queue.Empty:
            dead = [p.name for p in processes if p.exitcode is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"replicas {dead or 'all'} did not report within {timeout:g} s (see their output above)"
                ) from None
    return got


def _report(
    cards: Cards, due_at: datetime, burst: int, batch: int, parts: int, reports: Sequence[ReplicaReport], costs: list[str]
) -> None:
    if not cards.yellow:
        raise SystemExit("no yellow card within 600 s of the burst")
    lags = sorted((moment - due_at).total_seconds() for _, _, moment in cards.yellow)
    print("start-up (schema check, first scan of the due-date index): " + ", ".join(f"{r.startup_ms:.0f} ms" for r in reports))
    print(f"burst of {len(lags):,} deadlines -> yellow cards (+ urges), batches of at most {batch}, {len(reports)} replica(s):")
    print(
        f"  alert lag after the deadline (to the start of the part's batch; it commits within ~0.1 s): "
        f"p50 {statistics.median(lags):.2f} s, p99 {lags[int(len(lags) * 0.99) - 1]:.2f} s, max {lags[-1]:.2f} s; "
        f"{len(lags) / max(lags[-1], 1e-9):,.0f} overdue parts/s"
    )
    every = len({part for part, _, _ in cards.yellow}) == burst == cards.urged
    print(f"  every part carded and urged once: {'yes' if every else 'NO'}")
    # a red card from each department's third yellow card on (the departments had none before the burst)
    yellow = Counter(department for _, department, _ in cards.yellow)
    expected = {d: n - (POLICY.red_after_yellow_cards - 1) for d, n in yellow.items() if n >= POLICY.red_after_yellow_cards}
    print(f"  red cards from each department's third yellow card on: {'yes' if cards.red == expected else f'NO {cards.red}'}")
    print(f"  failed scan batches (retried): {sum(r.failures for r in reports)}")
    during = [wait for r in reports for moment, wait in r.waits if moment >= due_at.timestamp()] or [0.0]
    print(
        f"  an event batch waited at most {max(during) * 1000:.0f} ms during the burst "
        f"(median {statistics.median(during) * 1000:.0f} ms)"
    )
    for r in reports:
        print(
            f"  {r.name}: resident memory {r.rss_after:.0f} MiB after the burst ({r.rss_before:.0f} MiB before opening "
            f"the service); the {parts:,} parts live in the database index, not in memory"
        )
    print("  CPU during the burst, per overdue part:")
    print("\n".join(costs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=1_000_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--replicas", type=int, default=1, help="supervision processes on the one index (PostgreSQL)")
    args = parser.parse_args()
    if args.replicas > 1 and args.db != "postgres":
        parser.error("--replicas: replicas share the due parts through PostgreSQL's row locks; add --db postgres")
    run(args.parts, args.burst, args.batch, args.db, args.replicas)


if __name__ == "__main__":
    main()
