"""`make bench`: joint cases (3 departments each, simulators answering at once) through HTTP intake to
unified replies on a real local Kafka. Prints throughput, latency, what each process costs per case
(CPU milliseconds, peak RSS, from /proc; the broker's too when it is local) and the ceiling: the same
number of messages per case through raw aiokafka on the same broker.

    make bench BENCH_ARGS="--cases 5000 --concurrency 128"     # closed loop: N clients as fast as they can
    make bench-open RATE=100 BENCH_ARGS="--cases 3000"         # open loop: a fixed arrival rate
    make bench-open RATE=2 BENCH_ARGS="--cases 100 --hops"     # and where a case's time goes
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.demo import RESTAURANT_DEPARTMENTS, restaurant_case
from deploy.kafka_acls import ADMIN
from deploy.kafka_local import KafkaAccess, LocalKafka, kafka_version
from deploy.launcher import Ports, System, all_http, postgres_databases
from deploy.ports import free_port, free_port_block
from deploy.postgres_local import LocalPostgres
from shared.contracts import CloudEvent
from shared.identity import Role
from shared.messaging.admin import ensure_topics
from tests.bench.hops import center_partitions, hop_table, read_back
from tests.bench.processes import POSTGRES, cost_table, machine_speed, samples
from tests.e2e.api import as_role

MESSAGE_BYTES = 1024  # about a CloudEvent of a case's messages
SETTLE_SECONDS = 2  # after the warm-up's last reply: supervision takes its events up to 1 s later


class Run:
    """One bench run: when each case was sent and when its reply came."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.filing_done = False
        self.submitted: dict[str, float] = {}
        self.filing: list[float] = []  # the HTTP answer to each filing, seconds
        self.replied: dict[str, float] = {}
        self.retries = 0
        self.dropped: dict[str, int] = {}  # why, by the transport error
        self.last_filed = 0.0  # when intake answered the last filing

    async def file(self, client: httpx.AsyncClient, n: int, started: float) -> None:
        key, body = f"bench-{n}-{uuid.uuid4().hex[:8]}", restaurant_case()
        for attempt in range(3):  # a dropped connection is retried with the same key: still one case
            try:
                response = await client.post("/api/v1/cases", json=body, headers={"Idempotency-Key": key})
                break
            except httpx.TransportError as exc:
                if attempt == 2:
                    raise
                self.retries += 1
                self.dropped[type(exc).__name__] = self.dropped.get(type(exc).__name__, 0) + 1
        response.raise_for_status()
        self.last_filed = time.perf_counter()
        self.filing.append(self.last_filed - started)
        self.submitted[response.json()["case"]["case_id"]] = started

    @property
    def cases(self) -> int:
        return len(self.submitted)

    async def collect(self, replies: AIOKafkaConsumer) -> None:
        while not (self.filing_done and self.submitted.keys() <= self.replied.keys()):
            for records in (await replies.getmany(timeout_ms=200)).values():
                now = time.perf_counter()
                for record in records:
                    self.replied.setdefault(CloudEvent.from_bytes(record.value).subject, now)


async def run(system: System, concurrency: int, rate: float | None, *, cases: int = 0, seconds: float = 0) -> Run:
    """`cases` cases, or as many as the load files in `seconds`; returns once every one is replied to."""
    assert bool(cases) != bool(seconds), "a number of cases or a duration"
    replies = AIOKafkaConsumer(
        system.topics.replies,
        **system.kafka.client_options(ADMIN),
        group_id=f"bench-{uuid.uuid4()}",
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    await replies.start()
    while not replies.assignment():
        await replies.getmany(timeout_ms=100)
    bench = Run(system)
    collector = asyncio.create_task(bench.collect(replies))
    stop_at = time.perf_counter() + seconds if seconds else None
    limits = httpx.Limits(max_connections=concurrency)
    window = as_role(system, Role.WINDOW, "S-BENCH")  # one clerk, one token: the bench measures the system, not minting
    async with httpx.AsyncClient(base_url=system.url("intake"), limits=limits, timeout=60, headers=window) as client:
        if rate is None:
            numbers = iter(range(cases)) if stop_at is None else itertools.count()  # shared by the clients

            async def submitter() -> None:
                for n in numbers:
                    if stop_at is not None and time.perf_counter() >= stop_at:
                        break
                    await bench.file(client, n, time.perf_counter())

            await asyncio.gather(*(submitter() for _ in range(concurrency)))
        else:  # each case at its own moment, whether or not the ones before were answered (no coordinated omission)
            began, tasks = time.perf_counter(), []
            for n in range(cases or int(seconds * rate)):
                due = began + n / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                tasks.append(asyncio.create_task(bench.file(client, n, due)))
            await asyncio.gather(*tasks)
    bench.filing_done = True
    await asyncio.wait_for(collector, timeout=max(120, bench.cases / 10))
    await replies.stop()
    return bench


async def messages_on(system: System) -> int:
    """Every message on the center's topics so far (end offsets)."""
    partitions = await center_partitions(system)
    consumer = AIOKafkaConsumer(**system.kafka.client_options(ADMIN), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)  # the consumer learns where they are
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def ceiling(system: System, messages: int) -> tuple[float, float]:
    """Raw aiokafka on the same broker, as the services' clients are set (acks all, idempotent): CPU seconds
    of this process to produce `messages` CloudEvent-sized messages and to consume them again."""
    topic = f"lianban.{system.center}.bench-ceiling"
    await ensure_topics(system.kafka.settings(ADMIN), [topic])
    value = os.urandom(MESSAGE_BYTES // 2).hex().encode()
    producer = AIOKafkaProducer(**system.kafka.client_options(ADMIN), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    started = time.process_time()
    try:
        batch = []
        for n in range(messages):
            batch.append(await producer.send(topic, value, key=str(n % 1000).encode()))
            if len(batch) >= 5000:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
    finally:
        await producer.stop()
    produced = time.process_time() - started
    consumer = AIOKafkaConsumer(topic, **system.kafka.client_options(ADMIN), auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    started, read = time.process_time(), 0
    try:
        while read < messages:
            read += sum(len(r) for r in (await consumer.getmany(timeout_ms=500, max_records=5000)).values())
    finally:
        await consumer.stop()
    return produced, time.process_time() - started


def report(bench: Run, began: float, submit_done: float, finished: float, concurrency: int, rate: float | None) -> None:
    cases = bench.cases
    latencies = sorted(bench.replied[c] - bench.submitted[c] for c in bench.submitted)
    filing = sorted(bench.filing)
    load = f"{concurrency} concurrent HTTP clients" if rate is None else f"open loop at {rate:g} cases/s"
    print(f"Kafka {kafka_version()} (local KRaft), {os.cpu_count()} cores; {cases} cases x 3 departments, {load}")
    print(f"  intake accepted   {cases / (submit_done - began):8.1f} cases/s over HTTP")
    elapsed = finished - began
    print(f"  end to end        {cases / elapsed:8.1f} cases/s (first submit to last unified reply, {elapsed:.1f} s)")
    print(f"  filing (HTTP)     p50 {_ms(_at(filing, 0.5))}  p99 {_ms(_at(filing, 0.99))}  max {_ms(filing[-1])}")
    median, p99, worst = statistics.median(latencies), _at(latencies, 0.99), latencies[-1]
    print(f"  submit-to-reply   p50 {_ms(median)}  p99 {_ms(p99)}  max {_ms(worst)}")
    if bench.retries:
        why = ", ".join(f"{name} {count}" for name, count in sorted(bench.dropped.items()))
        print(f"  {bench.retries} submissions retried after a dropped connection (same Idempotency-Key): {why}")


def _at(ordered: list[float], quantile: float) -> float:
    return ordered[max(0, int(len(ordered) * quantile) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, help="open loop: cases per second, sent on schedule")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="every service's database")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the raw aiokafka comparison")
    parser.add_argument("--idle", type=float, default=0, help="first, seconds of no load: what the system costs idle")
    parser.add_argument(
        "--warmup", type=float, default=30, help="first, seconds of the same load not measured (0: measure from start-up)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's broker, databases and logs (kept anyway on failure)")
    parser.add_argument("--hops", action="store_true", help="after the run, each step's time after the filing (light loads)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="lianban-bench-"))
    center = f"bench{uuid.uuid4().hex[:6]}"
    postgres = LocalPostgres().start() if args.db == "postgres" else None
    databases = postgres_databases(postgres.url("postgres"), center) if postgres else None
    kafka = None  # the cluster given by KAFKA_* (every process then connects with those settings), else a local one
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        access = KafkaAccess.from_environment()
    else:
        kafka = LocalKafka(workdir=workdir / "kafka")
        access = kafka.start()
    ports = Ports(
        issuer=free_port(),
        intake=free_port(),
        gateway=free_port(),
        supervision=free_port(),
        adapters=free_port_block(3),
        simulators=free_port_block(3),
    )
    system = System(
        bridges=all_http(*RESTAURANT_DEPARTMENTS),  # the bench measures the center, its departments reached by their APIs
        kafka=access,
        workdir=workdir / "services",
        center=center,
        ports=ports,
        databases=databases,
        env={"LIANBAN_LOG_LEVEL": "WARNING", "LIANBAN_SIM_CERTIFICATES": "false"},  # the workload issue 15 measured
    )
    finished_well = False
    try:
        system.start()
        print(f"databases: {args.db}")
        pids = {c.name: c.process.pid for c in system.components.values() if c.process is not None}
        if kafka is not None and kafka.process is not None:
            pids["kafka (broker)"] = kafka.process.pid
        if postgres is not None and postgres.process is not None:
            pids[POSTGRES] = postgres.process.pid
        if args.idle:
            quiet = samples(pids)
            time.sleep(args.idle)
            print(f"  idle for {args.idle:g} s after start-up (CPU per second of nothing to do):")
            print("\n".join(cost_table(quiet, samples(pids), args.idle, per="s")))
        if args.warmup:  # the same load, not measured: the broker's JIT compiles for its first minute or so
            warm = asyncio.run(run(system, args.concurrency, args.rate, seconds=args.warmup))
            print(f"warm-up: {warm.cases} cases in {args.warmup:g} s, not counted")
            time.sleep(SETTLE_SECONDS)
        print(f"machine speed: {machine_speed():.2f} s for the probe (tests/bench/processes.py), before the run")
        before, messages_before = samples(pids), asyncio.run(messages_on(system))
        began = time.perf_counter()
        bench = asyncio.run(run(system, args.concurrency, args.rate, cases=args.cases))
        finished = time.perf_counter()
        after, messages = samples(pids), asyncio.run(messages_on(system)) - messages_before
        report(bench, began, bench.last_filed, finished, args.concurrency, args.rate)
        if args.hops:
            print("\n".join(hop_table(asyncio.run(read_back(system, bench.submitted)))))
        print("  cost per case (CPU while the run lasted; postgres: with its backends; peak RSS of the main process):")
        print("\n".join(cost_table(before, after, bench.cases)))
        per_case = messages / bench.cases
        print(f"  messages per case {per_case:8.1f} (produced on the center's topics)")
        if not args.no_ceiling:
            produce, consume = asyncio.run(ceiling(system, messages))
            raw_ms = (produce + consume) * 1000 / bench.cases
            total_ms = sum((after[n].cpu_seconds - before[n].cpu_seconds) for n in after if n in before) * 1000 / bench.cases
            print(
                f"  ceiling: raw aiokafka, {messages} messages of {MESSAGE_BYTES} B: produce {messages / produce:,.0f} msg/s, "
                f"consume {messages / consume:,.0f} msg/s of client CPU; {raw_ms:.2f} ms CPU per case for the messaging "
                f"itself, {total_ms:.2f} ms for Lianban ({raw_ms / total_ms:.1%} of it)"
            )
        conflicts = sum(log.read_text(errors="replace").count("ConcurrentUpdate") for log in system.workdir.glob("*.log"))
        print(f"  ConcurrentUpdate in the services' logs: {conflicts}")
        finished_well = True
    finally:
        system.stop()
        if kafka:
            kafka.stop()
        if postgres:
            postgres.stop()
        if finished_well and not args.keep:  # a run leaves ~300 MB of broker logs and databases
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"the run's broker, databases and service logs: {workdir}")


if __name__ == "__main__":
    main()
