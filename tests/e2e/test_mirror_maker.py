"""A department that runs its own Kafka cluster, linked to its center by MirrorMaker 2 (deploy/mirror_maker.py):
its work crosses to its cluster byte for byte under the same name, its actions and acknowledgements come
back, the mirror acts on the center as the department and no more, and a mirror killed mid-stream loses
nothing. Two secured brokers of the module's own: the center, its ACLs granted as the launcher grants
them, and the department's (deploy/department_cluster.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAuthorizationFailedError

from deploy.department_cluster import DepartmentCluster
from deploy.kafka_acls import ADMIN, center_departments, department_principal, grant, mirror_topics
from deploy.kafka_local import KafkaAccess, LocalKafka
from deploy.mirror_maker import MirrorLink
from deploy.ports import free_port
from shared.contracts import Applicant, CloudEvent, EventData, HandlingStarted, SupervisionAlert, WorkClosed, WorkOrder
from shared.contracts.states import AlertKind, CaseState
from shared.messaging.admin import ensure_topics
from shared.signing import KeyRegistry
from tests.e2e.kafka_tools import producer
from tests.keys import registered_keys

pytestmark = pytest.mark.e2e

CENTER, DEPARTMENT = f"mm{uuid.uuid4().hex[:6]}", "fire"
FIRE = department_principal(DEPARTMENT)
CLOUDEVENTS = [("content-type", b"application/cloudevents+json")]


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaAccess]:
    """The center's broker with its ACLs, as `System.grant` gives them."""
    broker = LocalKafka(workdir=tmp_path_factory.mktemp("center-kafka"))
    try:
        access = broker.start()
        asyncio.run(grant(access.settings(ADMIN), CENTER, center_departments()))
        yield access
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def department(center: KafkaAccess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DepartmentCluster]:
    cluster = DepartmentCluster(CENTER, DEPARTMENT, center, tmp_path_factory.mktemp("fire"))
    began = time.monotonic()
    try:
        cluster.start()
        assert cluster.link is not None
        print(f"\ndepartment broker and mirror ready in {time.monotonic() - began:.1f}s")
        print(f"MirrorMaker 2 cold start (to replicating both ways): {cluster.link.ready_in:.1f}s")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def link(department: DepartmentCluster) -> MirrorLink:
    assert department.link is not None
    return department.link


@pytest.fixture
def kafka_system(department: DepartmentCluster, tmp_path: Path) -> Iterator[tuple[str, KeyRegistry]]:
    """The simulated Kafka-kind system on the department's cluster, signing with its key: its URL and the
    center's registry of that key."""
    signers, registry = registered_keys(tmp_path / "keys", DEPARTMENT)
    port = free_port()
    env = {
        **os.environ,
        **department.env_for_system(),
        "LIANBAN_SIM_DEPARTMENT": DEPARTMENT,
        "LIANBAN_SIM_PORT": str(port),
        "LIANBAN_SIM_SIGNING_KEY": str(tmp_path / "keys" / f"{DEPARTMENT}.pem"),
        "LIANBAN_SIM_SIGNING_KEY_ID": signers[DEPARTMENT].key_id,
    }
    with open(tmp_path / "system.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.simulators.kafka_system"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _healthy(url):
            assert process.poll() is None, f"the simulated system exited; see {tmp_path / 'system.log'}"
            assert time.monotonic() < deadline, "the simulated system is not healthy after 30 s"
            time.sleep(0.2)
        yield url, registry
    finally:
        process.terminate()
        process.wait(timeout=15)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass(frozen=True)
class Received:
    value: bytes
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    partition: int
    at: float  # time.monotonic() when read


@asynccontextmanager
async def tail(options: dict[str, Any], topic: str, *, from_end: bool = True) -> AsyncIterator[list[Received]]:
    """Every record of a topic (from its end, or its beginning) read in the background as it comes."""
    consumer = AIOKafkaConsumer(topic, **options, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        for _ in range(100):  # without a group, every partition once the topic's metadata is in
            if partitions := consumer.assignment():
                break
            await asyncio.sleep(0.05)
        if from_end:
            await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)  # resolved now, not at the first fetch
        received: list[Received] = []
        reading = asyncio.create_task(_collect(consumer, received))
        try:
            yield received
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
    finally:
        await consumer.stop()


async def _collect(consumer: AIOKafkaConsumer, into: list[Received]) -> None:
    while True:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            now = time.monotonic()
            into.extend(Received(r.value, r.key, tuple(r.headers), r.partition, now) for r in records)


async def arrived(received: list[Received], wanted: set[bytes], timeout: float = 30.0) -> None:
    """Wait until every wanted value has been read."""
    deadline = time.monotonic() + timeout
    while not wanted <= {r.value for r in received}:
        assert time.monotonic() < deadline, f"{len(wanted - {r.value for r in received})} of {len(wanted)} did not arrive"
        await asyncio.sleep(0.02)


async def read_some(options: dict[str, Any], topic: str) -> list[bytes]:
    """Subscribe and read for a few seconds: where the principal may not read, the broker's refusal."""
    consumer = AIOKafkaConsumer(topic, **options, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=3000)
        return [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()


def event(data: EventData, case_id: str) -> bytes:
    return CloudEvent.wrap(data, source=f"/lianban/{CENTER}/intake", subject=case_id).to_bytes()


def new_case() -> str:
    return f"LB{uuid.uuid4().hex[:12].upper()}"


def work_for(case_id: str) -> list[EventData]:
    """A part's whole life on the department's work topic: pre-review, handling, a notice, closing."""
    now, order = datetime.now(UTC), f"{case_id}-{DEPARTMENT}"
    applicant = Applicant(kind="enterprise", name="杭州味道餐饮管理有限公司", id_number="91330100MA2H000001")
    part = {"case_id": case_id, "department": DEPARTMENT, "part_code": "FIRE-OPEN", "part_name": "消防安全检查"}
    alert = {"alert_id": f"{case_id}-remind", "kind": AlertKind.REMIND, "message": "请在期限内办结", "deadline": None}
    return [
        WorkOrder(
            work_order_id=order,
            center=CENTER,
            matter_code="JM-REST-001",
            applicant=applicant,
            time_limit_days=10,
            pre_review_days=1,
            issued_at=now,
            **part,
        ),
        HandlingStarted(work_order_id=order, applicant=applicant, materials={}, time_limit_days=10, accepted_at=now, **part),
        SupervisionAlert(
            case_id=case_id, work_order_id=order, department=DEPARTMENT, issued_by="supervision", issued_at=now, **alert
        ),
        WorkClosed(
            work_order_id=order,
            case_id=case_id,
            department=DEPARTMENT,
            case_state=CaseState.CONCLUDED,
            reason="办结",
            closed_at=now,
        ),
    ]


async def test_work_crosses_byte_identical_and_actions_come_back(
    center: KafkaAccess, department: DepartmentCluster, link: MirrorLink
) -> None:
    """As the department's system sees it: its work on its own cluster under the center's topic name, key,
    headers and partition as intake wrote them; what it writes there reaches the center's actions topic."""
    topics, own = link.topics, department.access
    for source, writer, target, reader, topic in (
        (center, "intake", own, FIRE, topics.work(DEPARTMENT)),
        (own, FIRE, center, "intake", topics.actions(DEPARTMENT)),
    ):
        crossed = []
        async with tail(target.client_options(reader), topic) as received, producer(source.client_options(writer)) as client:
            for i in range(20):
                case_id = new_case()
                value = event(work_for(case_id)[0], case_id)
                sent = time.monotonic()
                metadata = await client.send_and_wait(topic, value, key=case_id.encode(), headers=CLOUDEVENTS)
                await arrived(received, {value}, timeout=20)
                copy = next(r for r in received if r.value == value)
                crossed.append(copy.at - sent)
                assert (copy.key, copy.headers, copy.partition) == (case_id.encode(), tuple(CLOUDEVENTS), metadata.partition)
                await asyncio.sleep(0.05 * (i % 3))
        p50, worst = statistics.median(crossed) * 1000, max(crossed) * 1000
        print(f"\n{topic}: from send to read across the mirror p50 {p50:.0f} ms, max {worst:.0f} ms")


async def test_the_mirror_acts_on_the_center_as_the_department_and_no_more(
    center: KafkaAccess, department: DepartmentCluster, link: MirrorLink
) -> None:
    """Its center credentials are the department's: another department's actions cannot be written nor its
    work read with them, and what the department's own operator puts on another's topic stays home."""
    assert link.center_settings.sasl_username == FIRE
    assert f'username="{FIRE}"' in (link.workdir / "mm2.properties").read_text()
    as_mirror, topics = center.client_options(FIRE), link.topics
    async with producer(as_mirror) as client:
        with pytest.raises(TopicAuthorizationFailedError, match=topics.actions("tax")):
            await client.send_and_wait(topics.actions("tax"), b"acting as tax")
    with pytest.raises(TopicAuthorizationFailedError, match=topics.work("tax")):
        await read_some(as_mirror, topics.work("tax"))
    marker = f"not-fire-{uuid.uuid4().hex}".encode()
    await ensure_topics(center.settings(ADMIN), [topics.actions("tax")])
    async with (
        tail(center.client_options("intake"), topics.actions("tax")) as taxes,
        tail(center.client_options("intake"), topics.actions(DEPARTMENT)) as fires,
        producer(department.access.client_options(ADMIN)) as client,
    ):
        await client.send_and_wait(topics.actions("tax"), marker)
        await client.send_and_wait(topics.actions(DEPARTMENT), marker)
        await arrived(fires, {marker})
        await asyncio.sleep(1.0)
        assert taxes == []


async def test_the_center_keeps_only_the_mirrors_connect_topics(center: KafkaAccess, link: MirrorLink) -> None:
    """No heartbeats, checkpoints or offset-syncs there: the three Connect topics of the flow that writes to
    the center, in the department's own family."""
    admin = AIOKafkaAdminClient(**center.client_options(ADMIN))
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    mirrors, mine = f"lianban.{CENTER}.mirror.", mirror_topics(link.topics, DEPARTMENT)
    assert sorted(n for n in names if n.startswith(mirrors) or "heartbeats" in n or n.startswith("mm2-")) == [
        f"{mine}{name}" for name in ("configs", "offsets", "status")
    ]


async def test_a_kafka_system_answers_its_work_through_the_mirror(
    center: KafkaAccess, link: MirrorLink, kafka_system: tuple[str, KeyRegistry]
) -> None:
    """Accept, approve and acknowledge, signed with the department's key, keyed by the case; closed work and a
    repeated work order get no (second) answer."""
    url, registry = kafka_system
    case_id, topics = new_case(), link.topics
    work = work_for(case_id)
    async with (
        tail(center.client_options("intake"), topics.actions(DEPARTMENT)) as actions,
        tail(center.client_options("supervision"), topics.acknowledgements(DEPARTMENT)) as acks,
        producer(center.client_options("intake")) as client,
    ):
        for data in [work[0], work[0], *work[1:]]:
            await client.send_and_wait(topics.work(DEPARTMENT), event(data, case_id), key=case_id.encode())
        deadline = time.monotonic() + 30
        while len(answers := [r for r in actions + acks if r.key == case_id.encode()]) < 3:
            assert time.monotonic() < deadline, f"{len(answers)} of 3 answers"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # and nothing more
        answers = [r for r in actions + acks if r.key == case_id.encode()]
    events = [CloudEvent.from_bytes(r.value) for r in answers]
    assert [(e.type, e.data.get("action", {}).get("kind")) for e in events] == [
        ("cn.lianban.department.action.v1", "accept"),
        ("cn.lianban.department.action.v1", "approve"),
        ("cn.lianban.supervision.acknowledged.v1", None),
    ]
    assert events[1].data["action"]["document_number"].startswith("FIRE-")
    assert [registry.refusal(r.value, DEPARTMENT) for r in answers] == [None] * 3
    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{url}/gov/v1/stats")).json()
    assert stats["received"] - stats["answered"] == 2  # the repeated work order and the closed work (and earlier tests' work)


async def test_a_mirror_killed_mid_stream_loses_nothing(
    center: KafkaAccess, department: DepartmentCluster, link: MirrorLink
) -> None:
    """kill -9 while both sides produce, then a restart: every record arrives, at least once, both ways."""
    run, count, topics, own = uuid.uuid4().hex[:8], 300, link.topics, department.access
    inbound = [f"in-{run}-{i}".encode() for i in range(count)]
    outbound = [f"out-{run}-{i}".encode() for i in range(count)]
    async with producer(center.client_options("intake")) as to_center, producer(own.client_options(FIRE)) as to_department:
        for i in range(count):
            await asyncio.gather(
                to_center.send_and_wait(topics.work(DEPARTMENT), inbound[i], key=str(i % 7).encode()),
                to_department.send_and_wait(topics.actions(DEPARTMENT), outbound[i], key=str(i % 7).encode()),
            )
            if i == count // 3:
                link.kill()
            await asyncio.sleep(0.01)
    await asyncio.to_thread(link.start)
    print(f"\nMirrorMaker 2 restarted after kill -9, replicating again in {link.ready_in:.1f}s")
    for side, options, topic, expected in (
        ("department", own.client_options(FIRE), topics.work(DEPARTMENT), inbound),
        ("center", center.client_options("intake"), topics.actions(DEPARTMENT), outbound),
    ):
        async with tail(options, topic, from_end=False) as received:
            await arrived(received, set(expected), timeout=60)
            mine = [r.value for r in received if r.value in set(expected)]
        print(f"{side} side: {len(set(mine))} of {count} distinct, {len(mine) - len(set(mine))} repeated")
        assert set(mine) == set(expected)
