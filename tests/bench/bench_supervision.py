"""`make bench-supervision`: supervision with 1,000,000 open parts in its due-date index.

Prints the memory the service needs (deadlines live in the database index, not in timers), its
start-up time, and the lag between a burst of deadlines and their alerts, while events keep
being applied.

    make bench-supervision BENCH_ARGS="--parts 1000000 --burst 20000"
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from services.supervision.adapters.orm import SCHEMA, Alert
from services.supervision.domain.ladder import Policy, overdue_from
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.clocks import Clocks
from services.supervision.service_layer.scan import LadderScanner
from services.supervision.service_layer.watch import Watcher
from shared.clock import SystemClock
from shared.db import make_engine, session_factory
from shared.departments import load_departments
from shared.messaging.outbox import Outbox
from shared.migrations import migrate
from shared.runtime import tune_collector
from shared.topics import Topics
from shared.workdays import WorkingCalendar
from tests.bench.processes import machine_speed

FORMAT = "%Y-%m-%d %H:%M:%S.%f"
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


def rss_mb() -> float:
    """Resident memory now (not the peak: loading the rows is not the service's cost)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(db: Path, parts: int, burst: int, due_at: datetime) -> None:
    """Open parts: `burst` of them due at `due_at`, the rest spread over the coming weeks."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")  # as the service runs it
    started = (due_at - timedelta(days=7)).replace(tzinfo=None)
    rows = []
    for n in range(parts):
        deadline = due_at if n < burst else due_at + timedelta(days=2 + n % 40, seconds=n % 3600)
        next_check = overdue_from(deadline) if n < burst else deadline - timedelta(days=1)
        rows.append(
            (
                f"LB{n:08d}-tax",
                f"LB{n:08d}",
                ("tax", "fire", "market", "planning")[n % 4],
                "TAX-INVOICE",
                "JM-REST-001",
                5,
                0,
                started.strftime(FORMAT),
                "[]",
                0,
                0,
                0,
                deadline.astimezone(UTC).replace(tzinfo=None).strftime(FORMAT),
                "[]",
                0,
                1,
                0,
                0,
                0,
                0,
                next_check.astimezone(UTC).replace(tzinfo=None).strftime(FORMAT),
                1,
            )
        )
        if len(rows) == 50_000:
            _insert(conn, rows)
            rows = []
    _insert(conn, rows)
    conn.close()


def _due(db: Path, burst: int, due_at: datetime) -> None:
    conn = sqlite3.connect(db)
    deadline = due_at.astimezone(UTC).replace(tzinfo=None)
    conn.execute(
        "UPDATE part_clocks SET deadline = ?, next_check_at = ? WHERE work_order_id < ?",
        (deadline.strftime(FORMAT), overdue_from(deadline).strftime(FORMAT), f"LB{burst:08d}"),
    )
    conn.commit()
    conn.close()


def _insert(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    marks = ",".join("?" * len(COLUMNS))
    conn.executemany(f"INSERT INTO part_clocks ({','.join(COLUMNS)}) VALUES ({marks})", rows)
    conn.commit()


async def run(parts: int, burst: int, batch: int) -> None:
    print(f"machine speed: {machine_speed():.2f} s for the probe (tests/bench/processes.py)")
    db = Path(tempfile.mkdtemp(prefix="lianban-bench-sup-")) / "supervision.db"
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    await migrate(engine, SCHEMA)
    began = time.perf_counter()
    load(db, parts, burst, datetime.now(UTC) + timedelta(days=1))
    print(
        f"loaded {parts:,} open parts ({burst:,} due at the same moment) in {time.perf_counter() - began:.1f} s; "
        f"database {db.stat().st_size / 2**20:.0f} MiB"
    )
    await engine.dispose()

    tune_collector()  # as the service process does
    rss_before = rss_mb()
    began = time.perf_counter()
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    await migrate(engine, SCHEMA)
    sessions = session_factory(engine)
    calendar = WorkingCalendar()
    desk = AlertDesk(Outbox("/bench/supervision", Topics("bench")), {code: d.name for code, d in load_departments().items()})
    scanner = LadderScanner(sessions, desk, calendar, Policy(), SystemClock(), lambda: None, batch_size=batch, interval=0.2)
    await scanner.scan_once()  # nothing is due yet: one index probe
    print(f"start-up (schema check, first scan of the due-date index): {(time.perf_counter() - began) * 1000:.0f} ms")

    watcher = Watcher(Clocks(calendar, Policy()))
    consumed: list[float] = []
    due_at = datetime.now(UTC) + timedelta(seconds=3)  # the burst falls due 3 s from now
    _due(db, burst, due_at)
    scanner.start()
    await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()))
    burst_began = time.perf_counter()
    while True:  # meanwhile, event batches keep being applied; how long does each wait?
        t = time.perf_counter()
        async with sessions() as session, session.begin():
            await watcher.follow(session, [])
        consumed.append(time.perf_counter() - t)
        async with sessions() as session:
            # counted by the index, not loaded: the bench shares the scanner's process and loop
            done = await session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "yellow_card")) or 0
        if done >= burst or time.perf_counter() - burst_began > 600:
            break
        await asyncio.sleep(0.25)
    await scanner.stop()
    async with sessions() as session:
        issued = list(await session.scalars(select(Alert.issued_at).where(Alert.kind == "yellow_card")))
    lags = sorted((moment - due_at).total_seconds() for moment in issued)
    print(f"burst of {len(lags):,} deadlines -> yellow cards (+ urges), batches of at most {batch}:")
    print(
        f"  alert lag after the deadline: p50 {statistics.median(lags):.2f} s, p99 {lags[int(len(lags) * 0.99) - 1]:.2f} s, "
        f"max {lags[-1]:.2f} s; {len(lags) / max(lags[-1], 1e-9):,.0f} overdue parts/s, each a yellow card and an urge"
    )
    print(
        f"  an event batch waited at most {max(consumed) * 1000:.0f} ms during the burst "
        f"(median {statistics.median(consumed) * 1000:.0f} ms)"
    )
    print(
        f"  resident memory {rss_mb():.0f} MiB after the burst ({rss_before:.0f} MiB before opening the service); "
        f"the {parts:,} parts live in the database index, not in memory"
    )
    await engine.dispose()
    shutil.rmtree(db.parent, ignore_errors=True)  # the index of a million parts: ~270 MB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=1_000_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(run(args.parts, args.burst, args.batch))


if __name__ == "__main__":
    main()
