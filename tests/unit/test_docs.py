"""What outsiders read stays true: the AsyncAPI document, the integration guide's examples, compose."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, cast

import yaml

from deploy.kafka_local import KafkaAccess
from deploy.launcher import Ports, System
from services.gateway.settings import GatewaySettings
from services.intake.settings import IntakeSettings
from services.supervision.settings import SupervisionSettings
from shared.asyncapi import render
from shared.contracts import EVENT_TYPES, CloudEvent
from shared.routing import ROUTES
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


def test_compose_runs_every_component_the_local_launcher_runs() -> None:
    services = _compose()["services"]
    launched = [c.name for c in System(kafka=KafkaAccess("x"), workdir=Path("/tmp"))._plan()]
    assert set(launched) <= set(services), f"missing in compose: {set(launched) - set(services)}"
    assert "kafka" in services


def test_compose_sets_the_same_settings_as_the_local_launcher() -> None:
    services = _compose()["services"]
    for component in System(kafka=KafkaAccess("x"), workdir=Path("/tmp"), ports=Ports())._plan():
        env = services[component.name].get("environment", {})
        assert env.get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092"
        assert env.get("LIANBAN_CENTER") == "${LIANBAN_CENTER:-demo}"
        assert services[component.name]["command"][-1] == component.module
        for name, value in component.env.items():
            assert name in env, f"{component.name} lacks {name}"
            if not name.endswith(("_URL", "_DIR")):  # addresses and paths differ between containers and processes
                assert str(env[name]) == value, f"{component.name}: {name}={env[name]} (launcher: {value})"


def test_compose_gives_every_service_a_postgresql_database_of_its_own() -> None:
    created = set(re.findall(r'CREATE DATABASE "?([a-z-]+)"?;', (ROOT / "deploy/compose/postgres-init.sql").read_text()))
    urls = [v for s in _compose()["services"].values() for k, v in s.get("environment", {}).items() if k.endswith("DATABASE_URL")]
    assert len(urls) == len(created) == 6
    assert {url.rsplit("/", 1)[1] for url in urls} == created
    assert all(url.startswith("postgresql+asyncpg://") for url in urls)


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
