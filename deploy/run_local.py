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

from deploy.centers_local import DEMO_CENTERS, LocalCenters
from deploy.demo import district_case, restaurant_case, road_case, upload_restaurant_files, wait_for_reply
from deploy.kafka_local import KafkaAccess, LocalKafka, kafka_version
from deploy.launcher import Databases, System, postgres_databases
from deploy.postgres_local import LocalPostgres
from deploy.signals import wait_for_stop
from shared.identity import Role

RUN_DIR = Path(".run")


def main() -> None:
    if not os.environ.get("LIANBAN_KEEP_STATE"):
        shutil.rmtree(RUN_DIR, ignore_errors=True)  # a demo starts from a clean slate
    if os.environ.get("LIANBAN_RUN_CENTERS", "1") not in ("", "1"):
        run_centers(os.environ["LIANBAN_RUN_CENTERS"])
        return
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


def run_centers(count: str) -> None:
    """`make run CENTERS=2`: a district (西湖区) and its city (杭州), each with its own Kafka cluster, services,
    departments and identity provider, MirrorMaker 2 between them; a district case whose planning part the
    city decides (初审转报), then serve until Ctrl-C."""
    if count != str(len(DEMO_CENTERS)):
        raise SystemExit(f"CENTERS={count}: the local demo has {len(DEMO_CENTERS)} centers ({', '.join(DEMO_CENTERS)})")
    centers = LocalCenters(RUN_DIR / "centers")
    with contextlib.ExitStack() as started:
        print("Starting two centers, each its own Kafka (KRaft, SASL/SCRAM, ACLs), services and departments,", flush=True)
        print("and MirrorMaker 2 between them (a minute or two)...", flush=True)
        started.callback(centers.stop)
        ready = time.monotonic()
        centers.start()
        for code, system in centers.systems.items():
            print(f"\n== {centers.centers.name(code)} ({code}, Kafka {system.kafka.bootstrap}) ==")
            print_urls(system)
        demo_exchange(centers, ready)
        print("\nServing. Press Ctrl-C to stop every process started here.", flush=True)
        started.callback(print, "Stopping...", flush=True)
        wait_for_stop()


def demo_exchange(centers: LocalCenters, ready: float) -> None:
    """A district case whose planning part is reviewed at the district and decided at the city."""
    district, city = centers.systems["xihu"], centers.systems["hangzhou"]
    window = district.issuer.mint(Role.WINDOW, "S-0107", center=district.center)
    response = httpx.post(
        f"{district.url('intake')}/api/v1/cases",
        json=district_case(),
        timeout=10,
        headers={"Idempotency-Key": f"demo-{time.time_ns()}", "Authorization": f"Bearer {window}"},
    )
    response.raise_for_status()
    case = response.json()["case"]
    print(
        f"\nDemo case {case['case_id']} filed at 西湖区 "
        "(planning: first review at the district, decided at 杭州; fire: decided at the district)"
    )
    print(f"查询码 (query code on the applicant's receipt): {case['query_code']}")
    reply = wait_for_reply(district.url("gateway"), case["case_id"], {"X-Query-Code": case["query_code"]}, timeout=120)
    print(f"\nUnified reply 统一回复 at 西湖区 ({time.monotonic() - ready:.1f}s after the start):")
    print(reply["reply"]["message"])
    print(f"The city's record of it: {city.url('intake')}/api/v1/cases/{case['case_id']} (a window token of hangzhou)")


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
    print(f"  console 电子监察控制台 {system.url('supervision')}/console/  (log in as 监察人员 at the development issuer)")
    print(f"  identity (development issuer) {system.auth_issuer}; tokens: .venv/bin/lianban token --role window")
    for dept, bridge in system.bridges.items():
        print(f"  {dept} system (simulated, bridge: {bridge}) {system.simulator_url(dept)}")
    for dept, cluster in system.clusters.items():
        print(f"  {dept}'s own Kafka {cluster.access.bootstrap}, mirrored by MirrorMaker 2")
    print(f"  bridges 联办通道: {system.url('supervision')}/api/v1/supervision/bridges")
    print(f"  logs and databases in {system.workdir}")
    print(f"  audit 审计: {' '.join(f'{k}={v}' for k, v in system.audit_env().items())} .venv/bin/lianban audit verify")


def demo(system: System, ready: float) -> None:
    """Two joint cases, so that a department on each bridge answers: the restaurant opening (market by its API,
    fire across a file ferry, tax through an intermediate database) and digging up a road (city management on
    its own Kafka, traffic police by its API)."""
    window = system.issuer.mint(Role.WINDOW, "S-0107", center=system.center)  # a clerk at the lead window
    credentials = {"Authorization": f"Bearer {window}"}
    files = upload_restaurant_files(system.url("intake"), credentials)
    cases = [("餐饮店开业联办", restaurant_case(materials=files)), ("临时占用道路挖掘审批联办", road_case())]
    filed = []
    for title, body in cases:
        response = httpx.post(
            f"{system.url('intake')}/api/v1/cases",
            json=body,
            timeout=10,
            headers={"Idempotency-Key": f"demo-{time.time_ns()}", **credentials},
        )
        response.raise_for_status()
        case = response.json()["case"]
        bridges = "、".join(f"{d} ({system.bridges.get(d, '—')})" for d in body["materials"])
        print(f"\nDemo case {case['case_id']} submitted ({title}: {bridges} in parallel)")
        print(f"查询码 (query code on the applicant's receipt): {case['query_code']}")
        filed.append(case)
    for case in filed:
        reply = wait_for_reply(system.url("gateway"), case["case_id"], {"X-Query-Code": case["query_code"]}, timeout=120)
        print(f"\nUnified reply 统一回复 for {case['case_id']} ({time.monotonic() - ready:.1f}s after Kafka was ready):")
        print(reply["reply"]["message"])


if __name__ == "__main__":
    main()
