"""HTTP helpers for end-to-end tests, as window staff and operators use the system."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx

from deploy.demo import restaurant_case, wait_for_reply
from deploy.kafka_acls import ADMIN
from deploy.launcher import System
from shared.identity import Role
from tests.identity import AsStaff

APPLICANTS: list[str] = []  # every ID number the tests filed a case for: none may reach a log line


def new_applicant() -> str:
    applicant = f"9133{uuid.uuid4().hex[:14].upper()}"
    APPLICANTS.append(applicant)
    return applicant


def staff(system: System) -> AsStaff:
    """Each request with the token of the staff who would send it, from the system's own issuer."""
    return AsStaff(system.issuer, system.center)


def http(system: System) -> httpx.Client:
    return httpx.Client(auth=staff(system), timeout=10)


def as_role(system: System, role: Role, subject: str | None = None, **claims: Any) -> dict[str, str]:
    return staff(system).bearer(role, subject, **claims)


def reply_of(system: System, case_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The case at the gateway once it has its unified reply, read by the lead window."""
    return wait_for_reply(system.url("gateway"), case_id, as_role(system, Role.WINDOW, "S-0107"), timeout)


def submit(system: System, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    with http(system) as client:
        return client.post(f"{system.url('intake')}/api/v1/cases", json=body, headers=headers)


def submit_restaurant(system: System, applicant_id: str) -> str:
    response = submit(system, restaurant_case(applicant_id))
    assert response.status_code == 201, response.text
    return str(response.json()["case"]["case_id"])


def department_rule(
    system: System,
    department: str,
    applicant_id: str,
    decision: str = "approve",
    delay_seconds: float = 0.0,
    prereview: str = "accept",
) -> None:
    """Tell a simulated department system how to treat one applicant."""
    response = httpx.put(
        f"{system.simulator_url(department)}/gov/v1/rules/{applicant_id}",
        json={"decision": decision, "delay_seconds": delay_seconds, "prereview": prereview},
        timeout=5,
    )
    response.raise_for_status()


def act(
    system: System, department: str, work_order_id: str, action: dict[str, Any], staff_id: str = "STAFF-01"
) -> httpx.Response:
    """A department without an IT system acts through its work queue on intake, as `staff_id`."""
    return httpx.post(
        f"{system.url('intake')}/api/v1/departments/{department}/work/{work_order_id}/actions",
        json={"action": action},
        headers=as_role(system, Role.DEPARTMENT, staff_id, department=department),
        timeout=10,
    )


def status(system: System, case_id: str) -> dict[str, Any]:
    """The case as the applicant sees it at the gateway, once the gateway knows it."""
    return dict(poll(system, f"{system.url('gateway')}/api/v1/cases/{case_id}", lambda body: True))


def poll(system: System, url: str, until: Any, timeout: float = 30.0) -> Any:
    """GET (as the staff who would) until `until(json)` holds; returns the last body."""
    deadline = time.monotonic() + timeout
    body = None
    client = http(system)
    while time.monotonic() < deadline:
        response = client.get(url)
        body = response.json() if response.status_code == 200 else None
        if body is not None and until(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} did not reach the expected state in {timeout}s; last: {body}")


def reset_supervision_clock(system: System) -> None:
    """Tests share one system: a test that moves supervision's clock starts it from the real time."""
    from datetime import UTC, datetime

    with http(system) as client:
        client.post(
            f"{system.url('supervision')}/api/v1/supervision/clock", json={"now": datetime.now(UTC).isoformat()}
        ).raise_for_status()


def lianban(system: System, *args: str) -> str:
    """The operators' command line against this system; returns what it printed."""
    env = {
        **os.environ,
        **system.kafka.env(ADMIN),  # the center's operator
        "LIANBAN_DEV_ISSUER_DIR": str(system.issuer_path),  # mints its own token
        "LIANBAN_CENTER": system.center,
        "LIANBAN_INTAKE_PORT": str(system.ports.intake),
        "LIANBAN_SUPERVISION_PORT": str(system.ports.supervision),
    }
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
