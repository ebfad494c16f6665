"""Who may do what over HTTP, with tokens from an issuer of the test's own, on the services as their
composition roots build them: every protected route refuses a caller without a valid token (401), a
role that may not use it (403), and answers 404 for what is outside the caller's scope, so ids cannot
be probed. Staff ids come from tokens, never from bodies; applicants read only their own cases."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker
from sqlalchemy import select

from deploy.dev_issuer import DevIssuer
from services.gateway.bootstrap import build as gateway
from services.gateway.settings import GatewaySettings
from services.intake.bootstrap import build as intake
from services.intake.settings import IntakeSettings
from services.supervision.adapters.orm import Alert
from services.supervision.bootstrap import build as supervision
from services.supervision.settings import SupervisionSettings
from shared.contracts import AlertKind, CaseSubmitted, CloudEvent, EventData, PartActionRecorded
from shared.identity import Role
from shared.messaging.outbox import OutboxRow
from shared.migrations import migrate
from shared.runtime import Runtime
from tests.builders import T0, materials_for
from tests.identity import CENTER, ISSUER, bearer, token, verifier

Json = dict[str, Any]
APPLICANT = "91330100MA2H0000A1"
PUBLIC = {"/health", "/api/v1/catalog/matters", "/api/v1/catalog/matters/{code}", "/api/v1/catalog/joint-matters"}
PUBLIC |= {"/api/v1/catalog/joint-matters/{code}"}


@dataclass
class Center:
    intake: httpx.AsyncClient
    gateway: httpx.AsyncClient
    supervision: httpx.AsyncClient
    apps: dict[str, FastAPI]

    async def file(self, applicant: str = APPLICANT, body_staff: str | None = None) -> Json:
        body: Json = {
            "matter_code": "JM-REST-001",
            "applicant": {
                "kind": "enterprise",
                "name": "杭州味道餐饮管理有限公司",
                "id_number": applicant,
                "phone": "13812345678",
            },
            "lead_window": {"department": "market", "window_id": "W-03"} | ({"staff_id": body_staff} if body_staff else {}),
            "materials": materials_for("JM-REST-001"),
        }
        response = await self.intake.post("/api/v1/cases", json=body, headers=bearer(Role.WINDOW, "S-0107"))
        assert response.status_code == 201, response.text
        created: Json = response.json()
        return created

    async def published(self) -> list[EventData]:
        """What intake published on case.events."""
        runtime: Runtime = self.apps["intake"].state.runtime
        async with runtime.sessions() as session:
            rows = await session.scalars(
                select(OutboxRow).where(OutboxRow.topic == runtime.topics.case_events).order_by(OutboxRow.id)
            )
            return [CloudEvent.from_bytes(r.payload).payload() for r in rows]

    async def follow(self, service: str) -> None:
        """What intake published so far, read by the gateway or supervision through its own consumer."""
        runtime: Runtime = self.apps[service].state.runtime
        source: Runtime = self.apps["intake"].state.runtime
        async with source.sessions() as session:
            rows = list(await session.scalars(select(OutboxRow).where(OutboxRow.topic == source.topics.case_events)))
        async with TestKafkaBroker(runtime.broker):
            for row in rows:
                await runtime.broker.publish(row.payload, row.topic, key=row.key.encode())


@pytest.fixture
async def center(tmp_path: Path) -> AsyncIterator[Center]:
    def settings(kind: type[Any], name: str, **more: Any) -> Any:
        return kind(database_url=f"sqlite+aiosqlite:///{tmp_path / name}.db", **{"LIANBAN_CENTER": CENTER}, **more)

    apps = {
        "intake": intake(settings(IntakeSettings, "intake"), verifier()),
        "gateway": gateway(settings(GatewaySettings, "gateway"), verifier()),
        "supervision": supervision(settings(SupervisionSettings, "supervision", clock="manual"), verifier=verifier()),
    }
    for app in apps.values():
        await migrate(app.state.runtime.engine, app.state.runtime.schema)
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test")
        for name, app in apps.items()
    }
    yield Center(clients["intake"], clients["gateway"], clients["supervision"], apps)
    for name, client in clients.items():
        await client.aclose()
        await apps[name].state.runtime.engine.dispose()


def protected_operations(app: FastAPI) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() if path not in PUBLIC for method in ops]


async def test_without_a_token_every_protected_operation_answers_401(center: Center) -> None:
    refused = []
    for name, client in (("intake", center.intake), ("supervision", center.supervision)):
        for method, path in protected_operations(center.apps[name]):
            response = await client.request(method, path.replace("{", "x").replace("}", ""), json={})
            refused.append((name, method, path, response.status_code, response.headers.get("www-authenticate")))
    assert len(refused) >= 15
    assert {status for *_, status, _ in refused} == {401}, [r for r in refused if r[3] != 401]
    assert all(challenge for *_, challenge in refused)
    response = await center.gateway.get("/api/v1/cases/LB1")
    assert response.status_code == 401  # neither a token nor a query code
    for path in PUBLIC - {"/api/v1/catalog/matters/{code}", "/api/v1/catalog/joint-matters/{code}"}:
        assert (await center.intake.get(path)).status_code == 200


def forged(**changes: Any) -> str:
    """A window clerk's token with one thing wrong."""
    now = int(time.time())
    claims = {"iss": ISSUER.url, "aud": "lianban", "sub": "S-0107", "iat": now, "exp": now + 600}
    claims |= {"lianban_role": "window", "lianban_center": CENTER} | changes
    return jwt.encode(claims, ISSUER.key, algorithm="ES256", headers={"kid": ISSUER.kid})


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        pytest.param(lambda: "not-a-jwt", "令牌格式错误", id="not a JWT"),
        pytest.param(lambda: forged(exp=int(time.time()) - 3600), "令牌已过期", id="expired"),
        pytest.param(lambda: forged(aud="another-system"), "wrong audience", id="another audience"),
        pytest.param(lambda: forged(iss="http://elsewhere"), "untrusted issuer", id="another issuer"),
        pytest.param(
            lambda: DevIssuer.in_memory(ISSUER.url).mint(Role.ADMIN, "x", center=CENTER),
            "unknown signing key",
            id="a key of its own",
        ),
        pytest.param(
            lambda: jwt.encode(
                jwt.decode(forged(), options={"verify_signature": False}) | {"lianban_role": "admin"},
                DevIssuer.in_memory().key,
                algorithm="ES256",
                headers={"kid": ISSUER.kid},
            ),
            "bad signature",
            id="claims changed and signed with another key under the issuer's key id",
        ),
        pytest.param(
            lambda: jwt.encode(
                jwt.decode(forged(), options={"verify_signature": False}), key="", algorithm="none", headers={"kid": ISSUER.kid}
            ),
            "invalid token",
            id="unsigned (alg none)",
        ),
        pytest.param(lambda: forged(lianban_role="superuser"), "lianban_role", id="a role Lianban does not know"),
        pytest.param(lambda: forged(lianban_center=None), "lianban_center", id="staff of no center"),
        pytest.param(lambda: forged(sub="S" * 65), "sub", id="a subject longer than 64"),
    ],
)
async def test_a_bad_token_is_a_401_with_its_reason(center: Center, credential: Any, reason: str) -> None:
    response = await center.intake.get("/api/v1/cases/LB1", headers={"Authorization": f"Bearer {credential()}"})
    assert response.status_code == 401
    assert reason in response.json()["detail"]


async def test_the_staff_id_of_a_filing_is_the_tokens_subject_whatever_the_body_says(center: Center) -> None:
    created = await center.file(body_staff="S-SOMEONE-ELSE")
    assert created["case"]["staff_id"] == "S-0107"
    assert len(created["case"]["query_code"]) == 8


async def test_staff_of_another_center_and_roles_that_may_not_file_are_403(center: Center) -> None:
    body = {"matter_code": "JM-REST-001", "applicant": {}, "lead_window": {}, "materials": {}}
    other_center = bearer(Role.WINDOW, center="another")
    assert (await center.intake.post("/api/v1/cases", json=body, headers=other_center)).status_code == 403
    for role, claims in (
        (Role.APPLICANT, {"id_number": APPLICANT}),
        (Role.DEPARTMENT, {"department": "tax"}),
        (Role.SUPERVISOR, {}),
    ):
        response = await center.intake.post("/api/v1/cases", json=body, headers=bearer(role, **claims))
        assert response.status_code == 403, (role, response.text)
        assert "窗口人员" in response.json()["detail"]


async def test_a_department_sees_and_acts_only_on_its_own_work(center: Center) -> None:
    case_id = (await center.file())["case"]["case_id"]
    tax = bearer(Role.DEPARTMENT, "T-01", department="tax")
    queue = await center.intake.get("/api/v1/departments/tax/work", headers=tax)
    assert [(e["case_id"], e["part"]["department"]) for e in queue.json()] == [(case_id, "tax")]
    assert queue.json()[0]["applicant"]["id_number"] == APPLICANT  # what the department needs
    assert queue.json()[0]["applicant"]["phone"] is None  # and no more
    assert (await center.intake.get("/api/v1/departments/fire/work", headers=tax)).status_code == 404
    on_fire = await center.intake.post(
        f"/api/v1/departments/fire/work/{case_id}-fire/actions", json={"action": {"kind": "accept"}}, headers=tax
    )
    assert on_fire.status_code == 404
    own = await center.intake.post(
        f"/api/v1/departments/tax/work/{case_id}-tax/actions",
        json={"action": {"kind": "accept"}, "staff_id": "FORGED"},
        headers=tax,
    )
    assert own.status_code == 200, own.text
    assert own.json()["part"]["state"] == "pre_accepted"
    [recorded] = [e for e in await center.published() if isinstance(e, PartActionRecorded)]
    assert (recorded.department, recorded.staff_id) == ("tax", "T-01")  # who acted is the token's subject


async def test_an_applicant_reads_their_own_case_by_query_code_or_token_and_nobody_elses(center: Center) -> None:
    created = await center.file()
    case_id, code = created["case"]["case_id"], created["case"]["query_code"]
    await center.follow("gateway")
    url = f"/api/v1/cases/{case_id}"
    assert (await center.gateway.get(url, headers={"X-Query-Code": code})).status_code == 200
    assert (await center.gateway.get(url, headers={"X-Query-Code": code.lower()})).status_code == 200  # read aloud, typed in
    assert (await center.gateway.get(url, headers={"X-Query-Code": "WRONG234"})).status_code == 404
    own = bearer(Role.APPLICANT, "applicant-1", id_number=APPLICANT)
    stranger = bearer(Role.APPLICANT, "applicant-2", id_number="330102199001011234")
    assert (await center.gateway.get(url, headers=own)).status_code == 200
    assert (await center.gateway.get(url, headers=stranger)).status_code == 404
    assert (await center.gateway.get(url, headers=bearer(Role.WINDOW))).status_code == 200
    assert (await center.gateway.get(url, headers=bearer(Role.DEPARTMENT, department="tax"))).status_code == 403
    assert (await center.intake.get(url, headers=own)).status_code == 403  # intake's case, with all its data, is the window's
    evaluation = {"score": 5}
    assert (await center.intake.post(f"{url}/evaluation", json=evaluation, headers=stranger)).status_code == 404


async def test_supervision_masks_personal_data_and_keeps_each_department_to_its_own_alerts(center: Center) -> None:
    case_id = (await center.file())["case"]["case_id"]
    await center.follow("supervision")
    supervisor = bearer(Role.SUPERVISOR, "J-01")
    timeline = (await center.supervision.get(f"/api/v1/supervision/cases/{case_id}", headers=supervisor)).json()["timeline"]
    submitted = next(t for t in timeline if t["event_type"] == CaseSubmitted.event_type)
    text = str(timeline)
    assert APPLICANT not in text
    assert "13812345678" not in text
    assert submitted["summary"]["staff_id"] == "S-0107"
    tax, fire = bearer(Role.DEPARTMENT, "T-01", department="tax"), bearer(Role.DEPARTMENT, "F-01", department="fire")
    assert (await center.supervision.get(f"/api/v1/supervision/cases/{case_id}", headers=tax)).status_code == 403

    urged = await center.supervision.post(f"/api/v1/supervision/parts/{case_id}-tax/urge", headers=bearer(Role.WINDOW, "S-0107"))
    assert urged.status_code == 200, urged.text
    assert urged.json()["issued_by"] == "S-0107"
    alert_id = urged.json()["alert_id"]
    assert [a["alert_id"] for a in (await center.supervision.get("/api/v1/supervision/alerts", headers=tax)).json()] == [alert_id]
    assert (await center.supervision.get("/api/v1/supervision/alerts", headers=fire)).json() == []
    assert (await center.supervision.get("/api/v1/supervision/alerts?department=tax", headers=fire)).status_code == 404
    ack = f"/api/v1/supervision/alerts/{alert_id}/acknowledgement"
    assert (await center.supervision.post(ack, headers=fire)).status_code == 404
    acknowledged = await center.supervision.post(ack, headers=tax)
    assert acknowledged.json()["acknowledged_by"] == "T-01"
    async with center.apps["supervision"].state.runtime.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        assert (alert.kind, alert.acknowledged_by) == (AlertKind.URGE, "T-01")


async def test_only_an_administrator_moves_the_manual_clock(center: Center) -> None:
    now = {"now": T0.isoformat()}
    for role in (Role.SUPERVISOR, Role.WINDOW, Role.DEPARTMENT):
        response = await center.supervision.post("/api/v1/supervision/clock", json=now, headers=bearer(role, department="tax"))
        assert response.status_code == 403
    moved = await center.supervision.post("/api/v1/supervision/clock", json=now, headers=bearer(Role.ADMIN))
    assert moved.status_code == 200
    assert moved.json() == {"now": "2026-11-23T01:00:00Z"}
    assert token(Role.ADMIN)  # minted by the test's own issuer, never by a body
