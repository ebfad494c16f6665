"""Any request the HTTP APIs' own schemas allow, and many they do not, gets an answer below 500:
schemathesis against the running system (intake, gateway, supervision), a fixed number of examples
per operation, the same examples every run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from deploy.launcher import System

pytestmark = pytest.mark.e2e
EXAMPLES = 120  # per operation and generation mode: valid requests, and requests the schema forbids


@dataclass
class Tally:
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)


def fuzz(base: str) -> Tally:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    tally = Tally()
    for found in schema.get_all_operations():
        operation = found.ok()  # type: ignore[union-attr]  # an invalid operation raises here, failing the test
        strategies = [operation.as_strategy(generation_mode=mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]

        @given(case=strategies[0] | strategies[1])
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            tally.requests += 1
            response = case.call(base_url=base)
            if response.status_code >= 500:
                tally.server_errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        run()
    return tally


@pytest.mark.usefixtures("real_time")  # it may move supervision's manual clock: set back afterwards
@pytest.mark.parametrize("service", ["intake", "gateway", "supervision"])
def test_no_request_makes_a_service_answer_500(system: System, service: str) -> None:
    tally = fuzz(system.url(service))
    print(f"{service}: {tally.requests} requests, {len(tally.server_errors)} answered 5xx")
    assert tally.requests >= EXAMPLES
    assert tally.server_errors == []
