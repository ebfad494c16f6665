"""Identity and access on a real broker: each principal authenticates with its own SCRAM password and
reaches exactly the topics and groups the ACL plan gives it (deploy/kafka_acls.py). A secured broker
of its own, with two centers granted, each as `make run` and the launcher grant them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.metadata import MetadataRequest

from deploy.kafka_acls import ADMIN, center_departments, grant
from deploy.kafka_local import KafkaAccess, LocalKafka
from shared.messaging.admin import ensure_topics
from shared.topics import Topics

pytestmark = pytest.mark.e2e

CENTER, OTHER = "acl", "other"
TOPICS, OTHER_TOPICS = Topics(CENTER), Topics(OTHER)
DEPARTMENTS = ("tax", "fire")
TAX = "department-tax"


def topics_of(principal: str, t: Topics) -> list[str]:
    """The topics each process uses, so creates at start (`Runtime.start` -> ensure_topics)."""
    if principal == "intake":
        mine = [t.work, t.actions, t.feedback]
        return [t.case_events, t.deemed_approvals, t.dead_letters, *(f(d) for f in mine for d in DEPARTMENTS)]
    if principal == "gateway":
        return [t.case_events, t.replies, t.dead_letters]
    if principal == "supervision":
        mine = [t.work, t.acknowledgements, t.feedback]
        fixed = [t.case_events, t.replies, t.alerts, t.deemed_approvals, t.dead_letters]
        return [*fixed, *(f(d) for f in mine for d in DEPARTMENTS)]
    department = principal.removeprefix("department-")
    return [t.dead_letters, *(f(department) for f in (t.work, t.actions, t.acknowledgements, t.feedback))]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    began = time.monotonic()
    kafka = LocalKafka(workdir=tmp_path_factory.mktemp("kafka-access"))
    kafka.start()
    started = time.monotonic()
    try:
        for center in (CENTER, OTHER):
            asyncio.run(grant(kafka.access.settings(ADMIN), center, center_departments()))
        print(f"secured broker ready in {started - began:.1f}s, two centers granted in {time.monotonic() - started:.2f}s")
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="module")
def kafka(broker: LocalKafka) -> KafkaAccess:
    """The access of a center whose every topic its own writers created, as the services do at start."""
    access = broker.access
    for principal in ("intake", "gateway", "supervision", TAX, "department-fire"):
        asyncio.run(ensure_topics(access.settings(principal), topics_of(principal, TOPICS), ready_within=10))
    return access


@asynccontextmanager
async def producer(options: dict[str, Any]) -> AsyncIterator[AIOKafkaProducer]:
    """As every Lianban process produces: idempotent, acks=all."""
    client = AIOKafkaProducer(**options, enable_idempotence=True, acks="all", request_timeout_ms=10_000)
    try:
        await client.start()
        yield client
    finally:
        await client.stop()


async def produce(options: dict[str, Any], topic: str, value: bytes = b"x") -> int:
    async with producer(options) as client:
        sent = await asyncio.wait_for(client.send_and_wait(topic, value), 20)
        return int(sent.offset)


async def consume(options: dict[str, Any], topic: str, group: str | None, until: bytes | None = None) -> list[bytes]:
    """Read a topic from the beginning as this principal (and group), until `until` came or 10 s passed."""
    client = AIOKafkaConsumer(topic, **options, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
    values: list[bytes] = []
    try:
        await client.start()
        deadline = time.monotonic() + 10
        while until not in values and time.monotonic() < deadline:
            values += [r.value for rs in (await client.getmany(timeout_ms=300)).values() for r in rs]
    finally:
        await client.stop()
    return values


async def test_every_principal_creates_and_describes_the_topics_it_uses(broker: LocalKafka) -> None:
    """A center no one used yet: each process's own ensure_topics, under its own ACLs, makes its topics."""
    access = broker.access
    for principal in ("gateway", TAX, "supervision", "intake"):
        names = topics_of(principal, OTHER_TOPICS)
        await ensure_topics(access.settings(principal), names, ready_within=10)
        admin = AIOKafkaAdminClient(**access.client_options(principal))
        await admin.start()
        try:
            described = await admin.describe_topics(names)
        finally:
            await admin.close()
        assert sorted((t["topic"], t["error_code"]) for t in described) == sorted((name, 0) for name in names)


async def test_a_department_reads_its_own_work(kafka: KafkaAccess) -> None:
    value = f"work-{time.time_ns()}".encode()
    await produce(kafka.client_options("intake"), TOPICS.work("tax"), value)
    read = await consume(kafka.client_options(TAX), TOPICS.work("tax"), f"lianban-{CENTER}-adapter-tax", until=value)
    assert value in read


async def test_a_department_reads_with_groups_of_its_own_clients(kafka: KafkaAccess) -> None:
    value = f"feedback-{time.time_ns()}".encode()
    await produce(kafka.client_options("supervision"), TOPICS.feedback("tax"), value)
    group = f"lianban-{CENTER}-adapter-tax.dashboard"
    assert value in await consume(kafka.client_options(TAX), TOPICS.feedback("tax"), group, until=value)


async def test_a_department_cannot_read_another_departments_work(kafka: KafkaAccess) -> None:
    with pytest.raises(TopicAuthorizationFailedError, match=TOPICS.work("fire")):
        await consume(kafka.client_options(TAX), TOPICS.work("fire"), f"lianban-{CENTER}-adapter-tax")


async def test_a_department_cannot_read_the_dead_letters_it_may_write(kafka: KafkaAccess) -> None:
    assert await produce(kafka.client_options(TAX), TOPICS.dead_letters) >= 0
    with pytest.raises(TopicAuthorizationFailedError, match=TOPICS.dead_letters):
        await consume(kafka.client_options(TAX), TOPICS.dead_letters, None)


async def test_a_department_cannot_join_another_consumer_group(kafka: KafkaAccess) -> None:
    with pytest.raises(GroupAuthorizationFailedError, match=f"lianban-{CENTER}-intake"):
        await consume(kafka.client_options(TAX), TOPICS.work("tax"), f"lianban-{CENTER}-intake")


async def test_a_department_acts_on_its_own_actions_topic_with_an_idempotent_producer(kafka: KafkaAccess) -> None:
    value = f"action-{time.time_ns()}".encode()
    assert await produce(kafka.client_options(TAX), TOPICS.actions("tax"), value) >= 0
    assert value in await consume(kafka.client_options("intake"), TOPICS.actions("tax"), f"lianban-{CENTER}-intake", until=value)


@pytest.mark.parametrize(
    ("principal", "topic"),
    [
        (TAX, TOPICS.actions("fire")),  # acting as another department
        (TAX, TOPICS.acknowledgements("fire")),
        (TAX, TOPICS.deemed_approvals),  # approving in supervision's name
        (TAX, TOPICS.work("tax")),  # writing its own work
        (TAX, TOPICS.case_events),
        ("gateway", TOPICS.case_events),  # only intake records what happened to a case
        ("gateway", TOPICS.actions("tax")),  # (supervision may: it redrives dead letters, signatures and all)
        ("intake", TOPICS.replies),
    ],
)
async def test_a_principal_cannot_write_a_topic_of_other_writers(kafka: KafkaAccess, principal: str, topic: str) -> None:
    with pytest.raises(TopicAuthorizationFailedError, match=topic):
        await produce(kafka.client_options(principal), topic)


async def test_a_client_without_credentials_gets_no_metadata(kafka: KafkaAccess) -> None:
    """The listener speaks SASL only: a request before authenticating makes the broker close the connection."""
    host, port = kafka.bootstrap.rsplit(":", 1)
    conn = await create_conn(host, int(port), security_protocol="PLAINTEXT", request_timeout_ms=5000)
    try:
        with pytest.raises(KafkaConnectionError, match="closed"):
            await conn.send(MetadataRequest([]))
    finally:
        conn.close()
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await produce({"bootstrap_servers": kafka.bootstrap}, TOPICS.actions("tax"))


async def test_a_wrong_password_fails_authentication(kafka: KafkaAccess) -> None:
    host, port = kafka.bootstrap.rsplit(":", 1)
    user, password = kafka.credentials(TAX)
    with pytest.raises(SaslAuthenticationFailed, match="invalid credentials"):
        await create_conn(
            host,
            int(port),
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username=user,
            sasl_plain_password=password + "x",
        )
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await produce({**kafka.client_options(TAX), "sasl_plain_password": "wrong"}, TOPICS.actions("tax"))


async def test_granting_again_is_harmless(kafka: KafkaAccess) -> None:
    """The launcher grants at every start, on a broker that may have the bindings already."""
    again = await grant(kafka.settings(ADMIN), CENTER, ["tax"])
    assert again[-1].name == f"lianban-{CENTER}-adapter-tax."
    assert await produce(kafka.client_options(TAX), TOPICS.actions("tax")) >= 0


def test_a_restart_on_the_same_data_keeps_users_passwords_and_acls(broker: LocalKafka, kafka: KafkaAccess) -> None:
    """As after a kill -9: the same passwords from the work directory, the same ACLs from the metadata log."""
    broker.kill()
    assert broker.start() == kafka
    value = f"after-restart-{time.time_ns()}".encode()
    assert asyncio.run(produce(kafka.client_options(TAX), TOPICS.actions("tax"), value)) >= 0
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(produce(kafka.client_options(TAX), TOPICS.actions("fire")))


async def test_a_process_that_may_not_create_a_topic_it_needs_fails_at_once_naming_it(kafka: KafkaAccess) -> None:
    """Not after waiting for a leader that never comes: the broker's refusal is per topic, not an error of the call."""
    began = time.monotonic()
    with pytest.raises(TopicAuthorizationFailedError, match=f"cannot create lianban.{CENTER}.work.fire-new"):
        await ensure_topics(kafka.settings(TAX), [f"lianban.{CENTER}.work.fire-new"], ready_within=10)
    assert time.monotonic() - began < 5
