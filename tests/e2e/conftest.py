"""A real Apache Kafka broker and the whole system as separate processes, every service on its
own PostgreSQL database (the production path), once per test session.

The broker is, in order: the cluster named by KAFKA_BOOTSTRAP_SERVERS; a testcontainers Kafka
where a Docker engine answers; otherwise a local KRaft broker from Maven jars. PostgreSQL comes
from tests/conftest.py the same way. If either cannot be had the tests fail: they never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from deploy.kafka_local import LocalKafka
from deploy.launcher import System, postgres_databases
from tests.e2e.api import reset_supervision_clock
from tests.e2e.kafka_tools import TopicReader
from tests.e2e.systems import running
from tests.servers import docker_available


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    elif docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        kafka = LocalKafka(workdir=tmp_path_factory.mktemp("kafka"))
        try:
            yield kafka.start()
        finally:
            kafka.stop()


@pytest.fixture(scope="session")
def system(kafka_bootstrap: str, postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Every service, adapter and simulator as its own process, in a center of its own, on PostgreSQL."""
    center = f"e2e{uuid.uuid4().hex[:8]}"
    yield from running(kafka_bootstrap, center, tmp_path_factory.mktemp("system"), postgres_databases(postgres_server, center))


@pytest.fixture(scope="module")
def embedded_system(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The same on the embedded defaults of `make run`: an SQLite file per service."""
    yield from running(kafka_bootstrap, f"e2e{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("embedded"), None)


@pytest.fixture
def topics_reader(kafka_bootstrap: str) -> TopicReader:
    return TopicReader(kafka_bootstrap)


@pytest.fixture
def real_time(system: System) -> Iterator[None]:
    """Supervision's manual clock at the real time before and after a test that moves it."""
    reset_supervision_clock(system)
    yield
    reset_supervision_clock(system)
