"""`make run`: the whole system on its embedded defaults, a demo case, then serve until Ctrl-C.

The broker is a local one, secured as a center's cluster is: every service and adapter connects with
its own SCRAM-SHA-512 principal and the center's ACLs are granted before they start (passwords in
`.run/kafka/credentials.json`; nothing to set up). With KAFKA_BOOTSTRAP_SERVERS set, the system runs
on that cluster instead, every process with the KAFKA_* settings of this environment (security
protocol, SASL mechanism, user and password: `shared.settings.KafkaSettings`); that cluster's users
and ACLs are its operator's business (`python -m deploy.kafka_acls grant --center <center>` applies
the plan with admin credentials given the same way).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import httpx

from deploy.demo import restaurant_case, upload_restaurant_files, wait_for_reply
from deploy.kafka_local import KafkaAccess, LocalKafka, kafka_version
from deploy.launcher import Databases, System, postgres_databases
from deploy.postgres_local import LocalPostgres
from deploy.signals import wait_for_stop
from shared.identity import Role

RUN_DIR = Path(".run")


def main() -> None:
    if not os.environ.get("LIANBAN_KEEP_STATE"):
        shutil.rmtree(RUN_DIR, ignore_errors=True)  # a demo starts from a clean slate
    center = os.environ.get("LIANBAN_CENTER", "demo")
    with contextlib.ExitStack() as started:  # every process started here is stopped, last first
        kafka = KafkaAccess.from_environment() if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") else start_kafka(started)
        ready = time.monotonic()
        print(f"Kafka ready on {kafka.bootstrap}", flush=True)
        system = System(
            kafka=kafka,
            workdir=RUN_DIR / "services",
            center=center,
            databases=start_databases(center, started),
            issuer_dir=RUN_DIR / "issuer",
        )
        started.callback(system.stop)
        system.start()
        print_urls(system)
        demo(system, ready)
        print("\nServing. Press Ctrl-C to stop every process started here.", flush=True)
        started.callback(print, "Stopping...", flush=True)
        wait_for_stop()


def start_kafka(started: contextlib.ExitStack) -> KafkaAccess:
    print(f"Starting Apache Kafka {kafka_version()} (KRaft, SASL/SCRAM and ACLs, local process)...", flush=True)
    kafka = LocalKafka(port=int(os.environ.get("LIANBAN_KAFKA_PORT", "9092")), controller_port=0, workdir=RUN_DIR / "kafka")
    started.callback(kafka.stop)
    return kafka.start()


def start_databases(center: str, started: contextlib.ExitStack) -> Databases | None:
    """LIANBAN_DB=postgres: a database per service on PostgreSQL (the server at LIANBAN_POSTGRES_URL,
    or a local one started here); otherwise the embedded default, an SQLite file per service."""
    if os.environ.get("LIANBAN_DB", "sqlite") != "postgres":
        return None
    fresh = not os.environ.get("LIANBAN_KEEP_STATE")
    if server := os.environ.get("LIANBAN_POSTGRES_URL"):  # someone's server: its databases are kept
        return postgres_databases(server, center, fresh=False)
    print("Starting PostgreSQL (local process)...", flush=True)
    postgres = LocalPostgres(port=int(os.environ.get("LIANBAN_POSTGRES_PORT", "0")), workdir=RUN_DIR / "postgres")
    started.callback(postgres.stop)
    postgres.start()
    print(f"PostgreSQL ready on 127.0.0.1:{postgres.port}", flush=True)
    return postgres_databases(postgres.url("postgres"), center, fresh=fresh)


def print_urls(system: System) -> None:
    print("\nLianban is up:")
    print(f"  intake 受理       {system.url('intake')}/docs")
    print(f"  gateway 统一回复  {system.url('gateway')}/docs")
    print(f"  supervision 监察  {system.url('supervision')}/docs")
    print(f"  identity (development issuer) {system.auth_issuer}; tokens: .venv/bin/lianban token --role window")
    for dept in system.departments:
        print(f"  {dept} system (simulated) {system.simulator_url(dept)}")
    print(f"  logs and databases in {system.workdir}")
    print(f"  audit 审计: {' '.join(f'{k}={v}' for k, v in system.audit_env().items())} .venv/bin/lianban audit verify")


def demo(system: System, ready: float) -> None:
    window = system.issuer.mint(Role.WINDOW, "S-0107", center=system.center)  # a clerk at the lead window
    files = upload_restaurant_files(system.url("intake"), {"Authorization": f"Bearer {window}"})
    response = httpx.post(
        f"{system.url('intake')}/api/v1/cases",
        json=restaurant_case(materials=files),
        timeout=10,
        headers={"Idempotency-Key": f"demo-{time.time_ns()}", "Authorization": f"Bearer {window}"},
    )
    response.raise_for_status()
    case_id = response.json()["case"]["case_id"]
    print(f"\nDemo case {case_id} submitted (餐饮店开业联办: market, fire, tax in parallel), with 5 files the departments fetch")
    query_code = response.json()["case"]["query_code"]
    print(f"查询码 (query code on the applicant's receipt): {query_code}")
    case = wait_for_reply(system.url("gateway"), case_id, {"X-Query-Code": query_code})
    print(f"Unified reply 统一回复 ({time.monotonic() - ready:.1f}s after Kafka was ready):")
    print(case["reply"]["message"])


if __name__ == "__main__":
    main()
