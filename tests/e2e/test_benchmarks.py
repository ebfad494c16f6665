"""The benchmarks run in CI in a short form, so they cannot rot: each finishes and prints its figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from deploy.kafka_acls import ADMIN
from deploy.kafka_local import KafkaAccess

pytestmark = pytest.mark.e2e


def bench(module: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    return done.stdout


def test_the_case_benchmark_prints_throughput_and_latency(kafka: KafkaAccess) -> None:
    """On the session's broker, as a cluster given by the environment (every process the admin)."""
    out = bench("tests.bench.bench_cases", "--cases", "200", "--concurrency", "16", "--warmup", "2", env=kafka.env(ADMIN))
    assert re.search(r"warm-up: \d+ cases in 2 s, not counted", out)
    assert "200 cases x 3 departments" in out  # the measured cases, not the warm-up's
    assert "cases/s (first submit to last unified reply" in out
    assert "submit-to-reply   p50" in out
    assert "ConcurrentUpdate in the services' logs: 0" in out
    assert "CPU ms/case" in out
    assert "  intake  " in out  # a row per process
    assert "messages per case" in out
    assert "ceiling: raw aiokafka" in out


def test_the_open_loop_benchmark_prints_latency_at_a_fixed_rate_and_where_it_goes(kafka: KafkaAccess) -> None:
    args = ("--cases", "60", "--rate", "20", "--warmup", "1", "--no-ceiling", "--hops")
    out = bench("tests.bench.bench_cases", *args, env=kafka.env(ADMIN))
    assert "warm-up: 20 cases in 1 s, not counted" in out
    assert "open loop at 20 cases/s" in out
    assert "filing (HTTP)     p50" in out
    assert "submit-to-reply   p50" in out
    # every case's steps read back from the broker (median, p90, cases, step), in the order they come
    hops = [line.split(maxsplit=3) for line in out.split("where a case's time goes")[1].splitlines()]
    steps = [(row[2], row[3]) for row in hops if len(row) == 4 and row[0].isdigit()]
    assert steps[0] == ("60", "case.submitted.v1 on case.events")
    assert ("60", "department.action.v1/approve on actions.{department}") in steps
    assert steps[-1] == ("60", "case.replied.v1 on case.replies")


def test_the_supervision_benchmark_prints_lag_and_memory() -> None:
    out = bench("tests.bench.bench_supervision", "--parts", "10000", "--burst", "1000")
    assert "burst of 1,000 deadlines" in out
    assert "alert lag after the deadline" in out
    assert "every part carded and urged once: yes" in out
    assert "red cards from each department's third yellow card on: yes" in out
    assert "resident memory" in out


def test_the_supervision_benchmark_runs_replicas_on_postgresql() -> None:
    """Two supervision processes on one due-date index share the burst, and every part is carded once."""
    out = bench("tests.bench.bench_supervision", "--parts", "10000", "--burst", "1000", "--db", "postgres", "--replicas", "2")
    assert "into PostgreSQL" in out
    assert "burst of 1,000 deadlines -> yellow cards (+ urges), batches of at most 500, 2 replica(s)" in out
    assert "every part carded and urged once: yes" in out
    assert "red cards from each department's third yellow card on: yes" in out  # each replica its own departments
    assert "failed scan batches (retried): 0" in out
    for process in ("supervision-1", "supervision-2", "postgres (server)"):  # the CPU of each
        assert f"  {process} " in out


def test_the_bridge_benchmark_prints_each_bridges_throughput() -> None:
    """Without Kafka (two brokers and MirrorMaker 2 take longer to start than this short form may) and on
    SQLite: the HTTP, ferry and intermediate-database bridges."""
    out = bench("tests.bench.bench_bridges", "--work", "40", "--bridges", "http,ferry,database", "--db", "sqlite")
    for row in ("  http     -", "  ferry    sqlite", "  database sqlite"):
        assert row in out
    assert "orders/s" in out
    assert "ferry recovery (" in out
