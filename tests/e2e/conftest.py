"""A real Apache Kafka broker and the whole system as separate processes, every service on its
own PostgreSQL database (the production path), once per test session.

The broker is the cluster named by KAFKA_BOOTSTRAP_SERVERS (every process then connects with the
KAFKA_* settings of the environment, and its ACLs are its operator's), otherwise a local KRaft broker
from Maven jars, secured as a center's cluster is: each component its own SCRAM principal, the
center's ACLs granted. That broker is used even where a Docker engine answers: a testcontainers Kafka
is unsecured, so the suite would no longer check that each component keeps to its topics, and the
local one needs only the Java and Maven that `make test` sets up anyway. PostgreSQL comes from
tests/conftest.py. If either cannot be had the tests fail: they never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deploy.kafka_acls import ADMIN
from deploy.kafka_local import KafkaAccess, LocalKafka
from deploy.launcher import System, postgres_databases
from tests.e2e.api import reset_supervision_clock
from tests.e2e.diagnosis import FAILED
from tests.e2e.kafka_tools import TopicReader
from tests.e2e.systems import running


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Marks a test whose call failed, for the fixtures that print a diagnosis in their teardown."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaAccess]:
    """The broker, and how each principal reaches it."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield KafkaAccess.from_environment()
        return
    broker = LocalKafka(workdir=tmp_path_factory.mktemp("kafka"))
    try:
        yield broker.start()
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def system(kafka: KafkaAccess, postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Every service, adapter and simulator as its own process, in a center of its own, on PostgreSQL."""
    center = f"e2e{uuid.uuid4().hex[:8]}"
    yield from running(kafka, center, tmp_path_factory.mktemp("system"), postgres_databases(postgres_server, center))


@pytest.fixture(scope="module")
def embedded_system(kafka: KafkaAccess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The same on the embedded defaults of `make run`: an SQLite file per service."""
    yield from running(kafka, f"e2e{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("embedded"), None)


@pytest.fixture
def topics_reader(kafka: KafkaAccess) -> TopicReader:
    """Topics read and written directly, as the center's operators may (the admin principal)."""
    return TopicReader(kafka.settings(ADMIN))


@pytest.fixture
def real_time(system: System) -> Iterator[None]:
    """Supervision's manual clock at the real time before and after a test that moves it."""
    reset_supervision_clock(system)
    yield
    reset_supervision_clock(system)
