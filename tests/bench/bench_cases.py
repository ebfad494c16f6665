"""`make bench`: N joint cases (3 departments each, simulators answering at once) through HTTP
intake to unified replies on a real local Kafka. Prints cases/s and submit-to-reply latency.

    make bench BENCH_ARGS="--cases 5000 --concurrency 128"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from deploy.demo import restaurant_case
from deploy.kafka_acls import ADMIN
from deploy.kafka_local import KafkaAccess, LocalKafka, free_port, free_port_block, kafka_version
from deploy.launcher import Ports, System, postgres_databases
from deploy.postgres_local import LocalPostgres
from shared.contracts import CloudEvent
from shared.identity import Role
from tests.e2e.api import as_role


async def run(system: System, cases: int, concurrency: int) -> None:
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
    submitted: dict[str, float] = {}
    replied: dict[str, float] = {}

    async def collect() -> None:
        while len(replied) < cases:
            for records in (await replies.getmany(timeout_ms=200)).values():
                now = time.perf_counter()
                for record in records:
                    replied.setdefault(CloudEvent.from_bytes(record.value).subject, now)

    collector = asyncio.create_task(collect())
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(cases):
        queue.put_nowait(i)

    retries = [0]

    async def submitter(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            started, key = time.perf_counter(), f"bench-{n}-{uuid.uuid4().hex[:8]}"
            body = restaurant_case()
            for attempt in range(3):  # a dropped connection is retried with the same key: still one case
                try:
                    response = await client.post("/api/v1/cases", json=body, headers={"Idempotency-Key": key})
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
                    retries[0] += 1
            response.raise_for_status()
            submitted[response.json()["case"]["case_id"]] = started

    began = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    window = as_role(system, Role.WINDOW, "S-BENCH")  # one clerk, one token: the bench measures the system, not minting
    async with httpx.AsyncClient(base_url=system.url("intake"), limits=limits, timeout=60, headers=window) as client:
        await asyncio.gather(*(submitter(client) for _ in range(concurrency)))
    submit_done = time.perf_counter()
    await asyncio.wait_for(collector, timeout=max(120, cases / 10))
    finished = time.perf_counter()
    await replies.stop()

    latencies = sorted(replied[c] - submitted[c] for c in submitted)
    elapsed = finished - began
    print(
        f"Kafka {kafka_version()} (local KRaft), {os.cpu_count()} cores; {cases} cases x 3 departments, "
        f"{concurrency} concurrent HTTP clients"
    )
    print(f"  intake accepted   {cases / (submit_done - began):8.1f} cases/s over HTTP")
    print(f"  end to end        {cases / elapsed:8.1f} cases/s (first submit to last unified reply, {elapsed:.1f} s)")
    print(
        f"  submit-to-reply   p50 {_ms(statistics.median(latencies))}  p99 {_ms(latencies[int(len(latencies) * 0.99) - 1])}"
        f"  max {_ms(latencies[-1])}"
    )
    if retries[0]:
        print(f"  {retries[0]} submissions retried after a dropped connection (same Idempotency-Key)")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="every service's database")
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
        kafka=access,
        workdir=workdir / "services",
        center=center,
        ports=ports,
        databases=databases,
        env={"LIANBAN_LOG_LEVEL": "WARNING"},
    )
    try:
        system.start()
        print(f"databases: {args.db}")
        asyncio.run(run(system, args.cases, args.concurrency))
        conflicts = sum(log.read_text(errors="replace").count("ConcurrentUpdate") for log in system.workdir.glob("*.log"))
        print(f"  ConcurrentUpdate in the services' logs: {conflicts}")
    finally:
        system.stop()
        if kafka:
            kafka.stop()
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
