"""A whole system (every service, adapter and simulator as its own process) for a test module or session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from deploy.demo import RESTAURANT_DEPARTMENTS
from deploy.kafka_local import KafkaAccess
from deploy.launcher import Databases, Ports, System, all_http
from deploy.ports import free_port, free_port_block
from shared.departments import Bridge
from tests.e2e.api import APPLICANTS

TEST_SETTINGS = {
    "LIANBAN_SUPERVISION_CLOCK": "manual",
    "LIANBAN_SUPERVISION_SCAN_INTERVAL_SECONDS": "0.2",
    "LIANBAN_ADAPTER_RETRY_BACKOFF_SECONDS": "0.1",
    "LIANBAN_ADAPTER_POLL_SECONDS": "1",
}


def running(
    kafka: KafkaAccess,
    center: str,
    workdir: Path,
    databases: Databases | None,
    identity_provider: str | None = None,
    bridges: dict[str, Bridge] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[System]:
    """Start a center's system on free ports (its ACLs granted first; its own development issuer unless an
    identity provider is given), yield it, and stop every process it started. The restaurant case's three
    departments, each by its API, unless `bridges` says otherwise; `env` adds to the tests' settings."""
    bridges = bridges or all_http(*RESTAURANT_DEPARTMENTS)
    system = System(
        bridges=bridges,
        kafka=kafka,
        workdir=workdir,
        center=center,
        ports=free_ports(len(bridges)),
        databases=databases,
        env=TEST_SETTINGS | (env or {}),
        identity_provider=identity_provider,
    )
    try:
        system.start()
        yield system
    finally:
        system.stop()
    assert_no_personal_data_in_logs(workdir)


def free_ports(departments: int) -> Ports:
    """Ports nobody uses now, for a system of this many departments (tests run beside `make run`)."""
    return Ports(
        issuer=free_port(),
        intake=free_port(),
        gateway=free_port(),
        supervision=free_port(),
        adapters=free_port_block(departments),
        simulators=free_port_block(departments),
        agents=free_port_block(departments),
    )


def assert_no_personal_data_in_logs(workdir: Path) -> None:
    """No applicant's ID number in any log line of any process (个人信息不入日志)."""
    found = [
        (log.name, number)
        for log in sorted(workdir.glob("*.log"))
        for number in set(APPLICANTS)
        if number in log.read_text(errors="replace")
    ]
    assert found == [], f"ID numbers in logs: {found[:5]}"
