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
from pathlib import Path

import pytest

from deploy.kafka_local import LocalKafka, free_port, free_port_block
from deploy.launcher import Databases, Ports, System, postgres_databases
from tests.e2e.api import reset_supervision_clock
from tests.e2e.kafka_tools import TopicReader
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


def running(bootstrap: str, center: str, workdir: Path, databases: Databases | None) -> Iterator[System]:
    ports = Ports(
        intake=free_port(),
        gateway=free_port(),
        supervision=free_port(),
        adapters=free_port_block(3),
        simulators=free_port_block(3),
    )
    system = System(
        bootstrap=bootstrap,
        workdir=workdir,
        center=center,
        ports=ports,
        databases=databases,
        env={
            "LIANBAN_SUPERVISION_CLOCK": "manual",
            "LIANBAN_SUPERVISION_SCAN_INTERVAL_SECONDS": "0.2",
            "LIANBAN_ADAPTER_RETRY_BACKOFF_SECONDS": "0.1",
            "LIANBAN_ADAPTER_POLL_SECONDS": "1",
        },
    )
    try:
        system.start()
        yield system
    finally:
        system.stop()


@pytest.fixture
def topics_reader(kafka_bootstrap: str) -> TopicReader:
    return TopicReader(kafka_bootstrap)


@pytest.fixture
def real_time(system: System) -> Iterator[None]:
    """Supervision's manual clock at the real time before and after a test that moves it."""
    reset_supervision_clock(system)
    yield
    reset_supervision_clock(system)
