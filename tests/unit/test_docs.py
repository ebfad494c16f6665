"""What outsiders read stays true: the AsyncAPI document, the integration guide's examples, compose."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from deploy.kafka_acls import ADMIN, MIRROR_MAKER, department_principal
from deploy.kafka_local import KafkaAccess
from deploy.launcher import Component, Ports, System, catalog_bridges
from deploy.mirror_maker import MirrorLink
from services.gateway.settings import GatewaySettings
from services.intake.settings import IntakeSettings
from services.supervision.settings import SupervisionSettings
from shared.asyncapi import render
from shared.contracts import CloudEvent
from shared.routing import EVENT_TYPES, ROUTES
from shared.signing import KeyRegistry

ROOT = Path(__file__).parents[2]


def test_the_asyncapi_document_is_generated_from_the_code() -> None:
    committed = (ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8")
    assert committed == render(), "docs/asyncapi.json is stale: run `make docs`"


def test_the_asyncapi_document_passes_the_official_asyncapi_parser() -> None:
    checked = subprocess.run(
        ["node", str(ROOT / "tools" / "asyncapi" / "validate.mjs"), str(ROOT / "docs" / "asyncapi.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", ""), "errors and warnings, one JSON a line"


def test_every_event_type_has_its_route() -> None:
    assert set(ROUTES) == set(EVENT_TYPES.values())


def test_the_asyncapi_document_describes_every_topic_and_event_type() -> None:
    doc = json.loads(render())
    addresses = {c["address"] for c in doc["channels"].values()}
    assert "lianban.{center}.work.{department}" in addresses
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == set(EVENT_TYPES), "every event type travels on a documented channel"


def test_every_example_in_the_integration_guide_is_a_valid_event() -> None:
    guide = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")
    examples = re.findall(r"```json\n(.*?)```", guide, flags=re.S)
    types = {CloudEvent.from_bytes(e.encode()).payload().event_type for e in examples}
    assert types == {
        "cn.lianban.work_order.issued.v1",
        "cn.lianban.work_order.handling_started.v1",
        "cn.lianban.work_order.closed.v1",
        "cn.lianban.department.action.v1",
        "cn.lianban.action.refused.v1",
        "cn.lianban.supervision.alert.v1",
        "cn.lianban.supervision.acknowledged.v1",
        "cn.lianban.work_order.received.v1",
    }


def _compose() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


# In compose, the launcher's work directory: what `make run` keeps under it (keys, ferry directories, the issuer's
# key) the containers find at the same place under this one, on the volumes mounted there.
CONTAINER_WORKDIR = "/var/lib/lianban"


def _in_containers(value: str, workdir: Path) -> str:
    """A launcher's value as compose sets it: a path under the launcher's work directory moves to the containers'."""
    return f"{CONTAINER_WORKDIR}/{value.removeprefix(f'{workdir}/')}" if value.startswith(f"{workdir}/") else value


def _volumes(service: dict[str, Any]) -> dict[str, str]:
    """Where each volume of a service is mounted, by mount point."""
    return {mount.split(":")[1]: mount.split(":")[0] for mount in service.get("volumes", [])}


def _scram_users(broker: dict[str, Any]) -> dict[str, str]:
    """The SCRAM users deploy/compose/kafka.sh makes, with their passwords as compose gives them."""
    return dict(pair.split("=", 1) for pair in broker["environment"]["LIANBAN_KAFKA_USERS"].split())


def _own_cluster(bridges: Mapping[str, str], component: Component) -> str | None:
    """The department whose own Kafka cluster this component is on: the system of a department of the `kafka`
    kind. The launcher gives it that cluster's KAFKA_* once the cluster runs, which it does not in `_plan()`."""
    department = component.name.removeprefix("simulator-")
    return department if component.name.startswith("simulator-") and bridges.get(department) == "kafka" else None


def test_compose_runs_every_component_the_local_launcher_runs() -> None:
    services = _compose()["services"]
    launched = [c.name for c in System(kafka=KafkaAccess("x"), workdir=Path("/tmp"))._plan()]
    assert set(launched) <= set(services), f"missing in compose: {set(launched) - set(services)}"
    assert "kafka" in services


def test_compose_sets_the_same_settings_as_the_local_launcher(tmp_path: Path) -> None:
    services = _compose()["services"]
    system = System(kafka=KafkaAccess("x"), workdir=tmp_path, ports=Ports())
    on_volume: dict[str, set[str]] = {}  # each path the launcher sets, in containers: the volumes it is found on
    for component in system._plan():
        service = services[component.name]
        env = service.get("environment", {})
        own = _own_cluster(system.bridges, component)  # the center's broker for every other component
        assert env.get("KAFKA_BOOTSTRAP_SERVERS") == (f"kafka-{own}:9092" if own else "kafka:9092"), component.name
        if component.principal:
            assert env.get("KAFKA_SASL_USERNAME") == component.principal, component.name
        assert env.get("LIANBAN_CENTER") == "${LIANBAN_CENTER:-demo}"
        assert service["command"][-1] == component.module
        signing = system._signing(component)  # the keys and the registry, which the launcher adds when it spawns it
        if signing:
            assert service["depends_on"]["keys"] == {"condition": "service_completed_successfully"}, component.name
        for name, value in (component.env | signing).items():
            assert name in env, f"{component.name} lacks {name}"
            if name.endswith("_URL"):  # addresses differ between containers and processes
                continue
            expected = _in_containers(value, tmp_path)  # and paths by their root only
            assert str(env[name]) == expected, f"{component.name}: {name}={env[name]} (launcher: {value})"
            if expected != value:  # a file or directory of the work directory: on a volume the container mounts
                mounts = [m for m in _volumes(service) if expected == m or expected.startswith(f"{m}/")]
                assert mounts, f"{component.name}: {name}={expected} is on no volume"
                on_volume.setdefault(expected, set()).add(_volumes(service)[max(mounts, key=len)])
    shared = {path: volumes for path, volumes in on_volume.items() if len(volumes) > 1}
    assert not shared, f"one path, different volumes (a ferry's two sides, keys...): {shared}"


def test_compose_makes_a_scram_user_for_every_principal_the_launcher_uses() -> None:
    users = _scram_users(_compose()["services"]["kafka"])
    principals = {c.principal for c in System(kafka=KafkaAccess("x"), workdir=Path("/tmp"))._plan() if c.principal}
    assert principals <= set(users), f"no SCRAM user on the center's broker: {principals - set(users)}"


def test_compose_runs_a_kafka_department_on_its_own_broker_mirrored_as_the_launcher_does() -> None:
    services = _compose()["services"]
    departments = [d for d, bridge in catalog_bridges().items() if bridge == "kafka"]
    assert departments
    completed, healthy = {"condition": "service_completed_successfully"}, {"condition": "service_healthy"}
    for department in departments:
        principal = department_principal(department)
        broker, setup, mirror = (
            services[f"kafka-{department}"],
            services[f"kafka-{department}-setup"],
            services[f"mirror-maker-{department}"],
        )
        assert (broker["image"], broker["command"]) == (services["kafka"]["image"], services["kafka"]["command"])
        assert broker["environment"]["KAFKA_ADVERTISED_HOST"] == f"kafka-{department}"
        assert f"kafka-{department}-data" in _volumes(broker).values()
        own_users = _scram_users(broker)
        assert set(own_users) == {principal, MIRROR_MAKER}  # as DepartmentCluster's broker
        # its system and its adapter's watch: on its own broker, as the department's principal there
        system, adapter = services[f"simulator-{department}"]["environment"], services[f"adapter-{department}"]["environment"]
        assert system["KAFKA_SASL_USERNAME"] == adapter["LIANBAN_ADAPTER_MIRROR_KAFKA_SASL_USERNAME"] == principal
        assert system["KAFKA_SASL_PASSWORD"] == adapter["LIANBAN_ADAPTER_MIRROR_KAFKA_SASL_PASSWORD"] == own_users[principal]
        assert adapter["LIANBAN_ADAPTER_MIRROR_KAFKA_BOOTSTRAP_SERVERS"] == f"kafka-{department}:9092"
        # the mirror: the department's principal on the center's broker, mirror-maker on its own
        link = {k: v for k, v in mirror["environment"].items() if k.startswith("LIANBAN_")}
        assert link == {
            "LIANBAN_CENTER": "${LIANBAN_CENTER:-demo}",
            "LIANBAN_MIRROR_DEPARTMENT": department,
            "LIANBAN_MIRROR_CENTER_BOOTSTRAP": "kafka:9092",
            "LIANBAN_MIRROR_CENTER_PASSWORD": _scram_users(services["kafka"])[principal],
            "LIANBAN_MIRROR_DEPARTMENT_BOOTSTRAP": f"kafka-{department}:9092",
            "LIANBAN_MIRROR_DEPARTMENT_PASSWORD": own_users[MIRROR_MAKER],
        }
        assert mirror["command"] == ["bash", "/lianban/mirror-maker.sh"]
        # its setup: the department cluster's ACLs as its admin, the mirrored topics as the mirror connects
        assert {k: v for k, v in setup["environment"].items() if k.startswith("LIANBAN_")} == link
        assert setup["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == f"kafka-{department}:9092"
        assert setup["environment"]["KAFKA_SASL_USERNAME"] == ADMIN
        assert setup["environment"]["KAFKA_SASL_PASSWORD"] == broker["environment"]["KAFKA_ADMIN_PASSWORD"]
        # as under `make run`: the center's ACLs and the department's broker, then its ACLs, the mirror, the rest
        assert setup["depends_on"] == {f"kafka-{department}": healthy, "kafka-setup": completed}
        assert mirror["depends_on"][f"kafka-{department}-setup"] == completed
        for name in (f"simulator-{department}", f"adapter-{department}"):
            assert services[name]["depends_on"][f"kafka-{department}-setup"] == completed
            assert f"mirror-maker-{department}" in services[name]["depends_on"]


def test_the_compose_mirror_maker_runs_with_the_launchers_properties(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "connect-mirror-maker.sh").write_text('#!/usr/bin/env bash\ncat "$1"\n')  # prints what it is given
    (tmp_path / "bin" / "connect-mirror-maker.sh").chmod(0o755)
    center_password, own_password = 'a "quoted\\ password', "mirror-pw"
    env = {
        "PATH": os.environ["PATH"],
        "KAFKA_HOME": str(tmp_path),
        "KAFKA_CONFIG_DIR": str(tmp_path / "config"),
        "LIANBAN_CENTER": "demo",
        "LIANBAN_MIRROR_DEPARTMENT": "urban",
        "LIANBAN_MIRROR_CENTER_BOOTSTRAP": "kafka:9092",
        "LIANBAN_MIRROR_CENTER_PASSWORD": center_password,
        "LIANBAN_MIRROR_DEPARTMENT_BOOTSTRAP": "kafka-urban:9092",
        "LIANBAN_MIRROR_DEPARTMENT_PASSWORD": own_password,
    }
    run = subprocess.run(
        ["bash", str(ROOT / "deploy/compose/mirror-maker.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    written = [line.partition(" = ") for line in run.stdout.splitlines()]
    read_back = {key: re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value) for key, _, value in written}
    assert len(read_back) == len(written)
    center = KafkaAccess("kafka:9092", {department_principal("urban"): center_password})
    own = KafkaAccess("kafka-urban:9092", {MIRROR_MAKER: own_password})
    assert read_back == MirrorLink("demo", "urban", center, own, tmp_path).properties()


def test_compose_makes_the_keys_and_the_registry_as_the_launcher_does(tmp_path: Path) -> None:
    keys = _compose()["services"]["keys"]
    assert keys["command"] == ["python", "deploy/compose/keys.py", CONTAINER_WORKDIR]
    assert _volumes(keys)[f"{CONTAINER_WORKDIR}/keys"] == "keys"
    script = [sys.executable, str(ROOT / "deploy/compose/keys.py"), str(tmp_path / "compose")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(script, env=env, check=True, capture_output=True)
    System(kafka=KafkaAccess("x"), workdir=tmp_path / "launcher").register_keys()

    def made(workdir: Path) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
        registry = json.loads((workdir / "keys" / "registry.json").read_text())
        ids = {department: [(k["key_id"], k["algorithm"]) for k in keys] for department, keys in registry.items()}
        return ids, sorted(p.name for p in (workdir / "keys").glob("*.pem"))

    assert made(tmp_path / "compose") == made(tmp_path / "launcher")
    KeyRegistry.load(tmp_path / "compose" / "keys" / "registry.json")
    before = (tmp_path / "compose" / "keys" / "registry.json").read_bytes()
    subprocess.run(script, env=env, check=True, capture_output=True)
    assert (tmp_path / "compose" / "keys" / "registry.json").read_bytes() == before, "kept across restarts"


def test_compose_gives_every_service_a_postgresql_database_of_its_own() -> None:
    created = set(re.findall(r'CREATE DATABASE "?([a-z-]+)"?;', (ROOT / "deploy/compose/postgres-init.sql").read_text()))
    services = _compose()["services"]
    users: dict[str, set[str]] = {}  # each database, by name: the services that reach it
    for name, service in services.items():
        for key, url in service.get("environment", {}).items():
            if key.endswith("DATABASE_URL"):
                assert url.startswith("postgresql+asyncpg://"), f"{name}: {key}"
                users.setdefault(url.rsplit("/", 1)[1], set()).add(name)
    assert len(users) == len(created) == 10
    assert set(users) == created
    # one service each, but the intermediate database (中间库) of a department of the database kind: its adapter
    # and its system share it, as under `make run`, by the very same URL
    intermediate = [d for d, bridge in catalog_bridges().items() if bridge == "database"]
    assert {db: names for db, names in users.items() if len(names) > 1} == {
        f"interface-{d}": {f"adapter-{d}", f"simulator-{d}"} for d in intermediate
    }
    for d in intermediate:
        adapter, system = services[f"adapter-{d}"]["environment"], services[f"simulator-{d}"]["environment"]
        assert adapter["LIANBAN_ADAPTER_INTERFACE_DATABASE_URL"] == system["LIANBAN_SIM_INTERFACE_DATABASE_URL"]


def test_default_ports_are_the_documented_ones() -> None:
    assert (IntakeSettings().port, GatewaySettings().port, SupervisionSettings().port) == (8101, 8102, 8103)


def test_the_signed_example_in_the_integration_guide_verifies_with_the_key_it_names(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")
    [example] = [e for e in re.findall(r"```json\n(.*?)```", guide, flags=re.S) if '"lbsig"' in e]
    [public_key] = re.findall(r"verifies with the public key\n?\s*`([A-Za-z0-9_-]{43})`", guide)
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"fire": [{"key_id": "fire-2026", "algorithm": "ed25519", "public_key": public_key}]}))
    keys = KeyRegistry.load(registry)
    assert keys.refusal(example.encode(), "fire") is None
    assert keys.refusal(example.replace("第0815号", "第0816号").encode(), "fire") is not None
