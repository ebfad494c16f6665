"""Crash recovery under load: cases keep coming while intake, the gateway, supervision, an adapter,
a department's own system and the Kafka broker are each killed with SIGKILL and restarted; every
case still gets exactly one reply. A center and a broker of its own, so the crashes disturb no
other test."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.demo import restaurant_case
from deploy.kafka_acls import ADMIN
from deploy.kafka_local import LocalKafka
from deploy.launcher import System, postgres_databases
from shared.contracts import CloudEvent
from shared.identity import Role
from tests.e2e.api import as_role
from tests.e2e.kafka_tools import TopicReader
from tests.e2e.systems import running

pytestmark = pytest.mark.e2e
PER_VICTIM = 50  # 300 cases in all
VICTIMS = ["intake", "gateway", "supervision", "adapter-tax", "simulator-tax", "kafka"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    kafka = LocalKafka(workdir=tmp_path_factory.mktemp("kafka-kill9"))
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="module")
def crash_system(broker: LocalKafka, postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    center = f"kill{uuid.uuid4().hex[:8]}"
    workdir: Path = tmp_path_factory.mktemp("kill9")
    yield from running(broker.access, center, workdir, postgres_databases(postgres_server, center))


async def file_cases(system: System, count: int, filed: list[str]) -> None:
    """As window clerks would: each case with its own Idempotency-Key, sent again until intake answers."""

    async def one(client: httpx.AsyncClient) -> None:
        body, key = restaurant_case(), f"kill9-{uuid.uuid4().hex}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                response = await client.post("/api/v1/cases", json=body, headers={"Idempotency-Key": key})
                if response.status_code in (200, 201):
                    filed.append(response.json()["case"]["case_id"])
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
        raise TimeoutError("intake never took the case")

    async with httpx.AsyncClient(base_url=system.url("intake"), timeout=10, headers=as_role(system, Role.WINDOW)) as client:
        for start in range(0, count, 8):  # eight windows at a time
            await asyncio.gather(*(one(client) for _ in range(min(8, count - start))))


def crash(system: System, broker: LocalKafka, victim: str) -> None:
    if victim == "kafka":
        broker.kill()
        time.sleep(1)
        broker.start()
    else:
        system.kill(victim)
        time.sleep(1)
        system.restart(victim)


@pytest.mark.parametrize("victim", VICTIMS)
def test_a_crash_loses_no_case_and_repeats_no_reply(crash_system: System, broker: LocalKafka, victim: str) -> None:
    filed: list[str] = []
    load = threading.Thread(target=lambda: asyncio.run(file_cases(crash_system, PER_VICTIM, filed)))
    load.start()
    while len(filed) < PER_VICTIM // 3 and load.is_alive():
        time.sleep(0.1)
    crash(crash_system, broker, victim)  # with cases in flight
    load.join(timeout=180)
    assert len(filed) == PER_VICTIM, "every case was filed once intake answered"

    wanted = set(filed)

    def replied(events: list[CloudEvent]) -> bool:
        return wanted <= {e.subject for e in events}

    replies = [
        e
        for e in TopicReader(broker.access.settings(ADMIN)).events(crash_system.topics.replies, replied, timeout=120)
        if e.subject in wanted
    ]
    per_case = {case_id: sum(e.subject == case_id for e in replies) for case_id in wanted}
    lost = [c for c, n in per_case.items() if n == 0]
    repeated = [c for c, n in per_case.items() if n > 1]
    print(f"{victim}: {len(wanted)} cases, {len(lost)} lost, {len(repeated)} replied twice")
    assert (lost, repeated) == ([], [])
