"""Any request the HTTP APIs' own schemas allow, and many they do not, gets an answer below 500:
schemathesis against the running system (intake, gateway, supervision), with a valid token of each
role, a fixed number of examples per operation and role, the same examples every run. Without a token,
every protected operation answers 401."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from deploy.launcher import System
from shared.identity import Role
from tests.e2e.api import as_role, http

pytestmark = pytest.mark.e2e
EXAMPLES = 30  # per operation and role: valid requests, and requests the schema forbids
ROLES: dict[Role, dict[str, str]] = {
    Role.WINDOW: {},
    Role.DEPARTMENT: {"department": "tax"},
    Role.SUPERVISOR: {},
    Role.ADMIN: {},
    Role.APPLICANT: {"id_number": "91330100MA2HFUZZ01"},
}
PUBLIC = ("/health", "/api/v1/catalog/")


@dataclass
class Tally:
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)


def fuzz(base: str, credentials: dict[str, str]) -> Tally:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    tally = Tally()
    for found in schema.get_all_operations():
        operation = found.ok()  # type: ignore[union-attr]  # an invalid operation raises here, failing the test
        if streams(operation.definition.raw):
            continue  # a stream answers for minutes: its parameters are checked in tests/integration/test_console_api.py
        strategies = [operation.as_strategy(generation_mode=mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]

        @given(case=strategies[0] | strategies[1])
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            tally.requests += 1
            response = case.call(base_url=base, headers=credentials)
            if response.status_code >= 500:
                tally.server_errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        run()
    return tally


def streams(definition: dict[str, Any]) -> bool:
    """An operation that answers with server-sent events (the console's live screen)."""
    return "text/event-stream" in definition.get("responses", {}).get("200", {}).get("content", {})


@pytest.mark.usefixtures("real_time")  # it may move supervision's manual clock: set back afterwards
@pytest.mark.parametrize("service", ["intake", "gateway", "supervision"])
def test_no_request_of_any_role_makes_a_service_answer_500(system: System, service: str) -> None:
    tallies = {role: fuzz(system.url(service), as_role(system, role, f"fuzz-{role}", **claims)) for role, claims in ROLES.items()}
    for role, tally in tallies.items():
        print(f"{service} as {role}: {tally.requests} requests, {len(tally.server_errors)} answered 5xx")
        assert tally.requests >= EXAMPLES
    assert [e for t in tallies.values() for e in t.server_errors] == []


@pytest.mark.parametrize("service", ["intake", "gateway", "supervision"])
def test_without_a_token_every_protected_operation_answers_401(system: System, service: str) -> None:
    base = system.url(service)
    with http(system) as client:
        paths = client.get(f"{base}/openapi.json").json()["paths"]
    operations = [(m.upper(), p) for p, ops in paths.items() if not p.startswith(PUBLIC) for m in ops]
    answers = {
        (method, path): httpx.request(method, base + path.replace("{", "x").replace("}", ""), json={}).status_code
        for method, path in operations
    }
    print(f"{service}: {len(answers)} protected operations, answers without a token: {sorted(set(answers.values()))}")
    assert answers
    assert set(answers.values()) == {401}, answers
