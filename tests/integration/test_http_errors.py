"""Every HTTP error of intake, the gateway and supervision, as a caller reads it: the services' own
routers and error handlers on a real database, called in process through ASGI (no broker, no server).

An unhandled exception is not re-raised into the test: the client gets the 500 a caller would get,
so a missing mapping shows as `500 != 4xx`. The last section pins the bounds whose absence once gave
a 500 (PostgreSQL refusing what SQLite let through).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from services.gateway.adapters.orm import SCHEMA as GATEWAY_SCHEMA
from services.gateway.entrypoints import api as gateway_api
from services.intake.adapters.case_book import CaseBook
from services.intake.adapters.orm import SCHEMA as INTAKE_SCHEMA
from services.intake.adapters.orm import CaseRecord
from services.supervision.adapters.orm import SCHEMA as SUPERVISION_SCHEMA
from services.supervision.adapters.orm import Alert, PartClock
from services.supervision.entrypoints import api as supervision_api
from services.supervision.service_layer.alerts import AlertDesk
from shared.clock import SYSTEM_CLOCK, Clock, ManualClock
from shared.db import SessionFactory
from shared.identity import Role
from shared.materials import FilesystemStore
from shared.messaging.outbox import Outbox
from shared.topics import Topics
from shared.workdays import WorkingCalendar
from tests.builders import T0, materials_for
from tests.identity import access, bearer
from tests.integration.intake_http import client_of, filing, intake_app
from tests.integration.supervision_world import NAMES
from tests.servers import MakeSessions

Json = dict[str, Any]
NOBODY = "LBNOBODY"  # a case id nobody filed
DEPARTMENTS = ["market", "fire", "tax"]  # the parts of JM-REST-001, in the catalog's order


# -- intake ----------------------------------------------------------------------------------------


@pytest.fixture
async def intake(make_sessions: MakeSessions, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Intake as services/intake/bootstrap.py composes it, without Kafka."""
    app = await intake_app(await make_sessions(INTAKE_SCHEMA), tmp_path / "materials")
    async with client_of(app) as client:
        yield client


async def file_case(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/v1/cases", json=filing())
    assert response.status_code == 201, response.text
    return str(response.json()["case"]["case_id"])


async def act(
    client: httpx.AsyncClient, case_id: str, department: str, action: Json, work_order_id: str | None = None
) -> httpx.Response:
    work_order_id = work_order_id or f"{case_id}-{department}"
    return await client.post(
        f"/api/v1/departments/{department}/work/{work_order_id}/actions",
        json={"action": action},
    )


async def read_case(client: httpx.AsyncClient, case_id: str) -> Json:
    response = await client.get(f"/api/v1/cases/{case_id}")
    assert response.status_code == 200, response.text
    case: Json = response.json()["case"]
    return case


def part_states(case: Json) -> dict[str, str]:
    return {p["department"]: p["state"] for p in case["parts"]}


async def open_work(client: httpx.AsyncClient, department: str) -> list[Json]:
    response = await client.get(f"/api/v1/departments/{department}/work")
    assert response.status_code == 200, response.text
    entries: list[Json] = response.json()
    return entries


@pytest.mark.parametrize("path", ["/api/v1/catalog/matters/NOPE-1", "/api/v1/catalog/joint-matters/NOPE-1"])
async def test_an_unknown_matter_is_a_404_naming_the_catalog_rule(intake: httpx.AsyncClient, path: str) -> None:
    response = await intake.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "目录中没有 NOPE-1 (not in the catalog): 未列入目录一律不得实施"}


async def test_filing_a_joint_matter_not_in_the_catalog_is_a_404_and_files_nothing(intake: httpx.AsyncClient) -> None:
    response = await intake.post("/api/v1/cases", json=filing(matter_code="JM-NOPE"))
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "未知联办事项 unknown joint matter: JM-NOPE"}
    assert await open_work(intake, "market") == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", f"/api/v1/cases/{NOBODY}", None, id="read"),
        pytest.param("POST", f"/api/v1/cases/{NOBODY}/supplement", {"materials": {}}, id="supplement"),
        pytest.param("POST", f"/api/v1/cases/{NOBODY}/delivery", {}, id="delivery"),
        pytest.param("POST", f"/api/v1/cases/{NOBODY}/evaluation", {"score": 5}, id="evaluation"),
    ],
)
async def test_a_case_nobody_filed_is_a_404_at_intake(
    intake: httpx.AsyncClient, method: str, path: str, body: Json | None
) -> None:
    response = await intake.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": f"未找到该办件 no case {NOBODY}"}


@pytest.mark.parametrize(
    "work_order",
    [
        pytest.param("{nobody}-fire", id="a case nobody filed"),
        pytest.param("{case}-police", id="a case in which the department has no part"),
        pytest.param("{case}-market", id="another department's work order"),
    ],
)
async def test_a_work_order_that_is_not_the_departments_is_a_404_like_one_that_does_not_exist(
    intake: httpx.AsyncClient, work_order: str
) -> None:
    case_id = await file_case(intake)
    department = "police" if "police" in work_order else "fire"
    path = f"/api/v1/departments/{department}/work/{work_order.format(nobody=NOBODY, case=case_id)}/actions"
    response = await intake.post(path, json={"action": {"kind": "accept"}})
    assert response.status_code == 404
    assert response.json()["detail"].startswith("未找到 工单")
    assert part_states(await read_case(intake, case_id)) == {"market": "forwarded", "fire": "forwarded", "tax": "forwarded"}


async def test_an_idempotency_key_reused_for_another_application_is_a_409_and_files_nothing_more(
    intake: httpx.AsyncClient,
) -> None:
    key = {"Idempotency-Key": "W03-20261123-0001"}
    first = await intake.post("/api/v1/cases", json=filing(), headers=key)
    again = await intake.post("/api/v1/cases", json=filing(), headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["case"]["case_id"] == first.json()["case"]["case_id"]

    other_clerk = bearer(Role.WINDOW, "S-0999")  # the same window, another clerk: another application
    response = await intake.post("/api/v1/cases", json=filing(), headers=key | other_clerk)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "该窗口已将此 Idempotency-Key 用于另一份申请 "
        "(this window used this Idempotency-Key for a different application)"
    }
    assert len(await open_work(intake, "fire")) == 1


async def test_a_decision_before_acceptance_is_a_409_with_the_reason_the_case_state_and_who_owes_the_next_step(
    intake: httpx.AsyncClient,
) -> None:
    case_id = await file_case(intake)
    await act(intake, case_id, "market", {"kind": "accept"})
    before = await read_case(intake, case_id)

    response = await act(intake, case_id, "fire", {"kind": "approve", "document_number": "F-1"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": {
            "reason": "案件尚未受理，不能办理或作出决定 (the case is not accepted yet: no handling before acceptance)",
            "case_state": "pre_review",
            "owes_next_step": ["fire", "tax"],
        }
    }
    assert await read_case(intake, case_id) == before


@dataclass(frozen=True)
class NotNow:
    """An action the case's rules do not allow now; `{case}` in the path and reason is the case id."""

    path: str
    body: Json
    reason: str
    accepted_first: tuple[str, ...] = ()  # departments whose pre-review accepted before the call


NOT_NOW = [
    pytest.param(
        NotNow(
            "/api/v1/cases/{case}/supplement",
            {"materials": {"fire": {"场所消防安全制度": "doc://v2"}}},
            "本案没有待补正的告知 (the case awaits no supplement)",
        ),
        id="a supplement when none is awaited",
    ),
    pytest.param(
        NotNow(
            "/api/v1/cases/{case}/delivery",
            {},
            "案件尚未办结，无可送达的文书 (nothing to deliver before the case is concluded)",
        ),
        id="a delivery before the case is concluded",
    ),
    pytest.param(
        NotNow("/api/v1/cases/{case}/evaluation", {"score": 5}, "案件办结后方可评价 (a case is evaluated once concluded)"),
        id="an evaluation before the case is concluded",
    ),
    pytest.param(
        NotNow(
            "/api/v1/departments/fire/work/{case}-fire/actions",
            {"action": {"kind": "accept"}},
            "本部门本轮预审已答复 (this department already answered round 1 of pre-review)",
            accepted_first=("fire",),
        ),
        id="a second pre-review answer",
    ),
    pytest.param(
        NotNow(
            "/api/v1/departments/fire/work/{case}-fire/actions",
            {"action": {"kind": "refuse", "reason": "场所不符合要求"}},
            "不予受理须说明理由和法律依据 (a refusal needs its reason and legal basis)",
        ),
        id="a refusal without its legal basis",
    ),
]


@pytest.mark.parametrize("not_now", NOT_NOW)
async def test_an_action_the_rules_do_not_allow_now_is_a_409_with_the_reason_and_changes_nothing(
    intake: httpx.AsyncClient, not_now: NotNow
) -> None:
    case_id = await file_case(intake)
    for department in not_now.accepted_first:
        assert (await act(intake, case_id, department, {"kind": "accept"})).status_code == 200
    before = await read_case(intake, case_id)

    response = await intake.post(not_now.path.format(case=case_id), json=not_now.body)
    assert response.status_code == 409, response.text
    assert response.json() == {
        "detail": {
            "reason": not_now.reason.format(case=case_id),
            "case_state": "pre_review",
            "owes_next_step": [d for d in DEPARTMENTS if d not in not_now.accepted_first],
        }
    }
    assert await read_case(intake, case_id) == before


async def test_a_deemed_approval_posted_over_http_is_a_403_and_changes_nothing(intake: httpx.AsyncClient) -> None:
    case_id = await file_case(intake)
    for department in DEPARTMENTS:
        await act(intake, case_id, department, {"kind": "accept"})
    deemed = {
        "kind": "deemed_approve",
        "document_number": "MY-2026-0001",
        "deadline": "2026-11-20T09:00:00Z",
        "urged_at": ["2026-11-21T09:00:00Z"],
        "silent_since": "2026-11-10T09:00:00Z",
    }
    response = await act(intake, case_id, "tax", deemed)
    assert response.status_code == 403
    assert response.json() == {"detail": "超时默许只能由电子监察作出 (only supervision issues a deemed approval)"}
    assert part_states(await read_case(intake, case_id)) == dict.fromkeys(DEPARTMENTS, "handling")


def application_invalid(field: str, reason: str) -> Json:
    return {"loc": ["body", *field.split(".")], "msg": reason, "type": "application_invalid"}


async def test_an_application_missing_materials_is_a_422_naming_each_field_and_reason_at_once(
    intake: httpx.AsyncClient,
) -> None:
    materials = {"market": {"食品经营许可申请书": "doc://1"}, "fire": {}, "tax": {"财务负责人信息": "doc://3"}}
    response = await intake.post("/api/v1/cases", json=filing(materials=materials))
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            application_invalid("materials.market", "missing required materials: 经营场所平面图"),
            application_invalid("materials.fire", "missing required materials: 消防安全检查申请表、场所消防安全制度"),
        ]
    }
    assert await open_work(intake, "tax") == []


async def test_an_application_at_the_wrong_window_with_materials_for_a_stranger_is_a_422_naming_both(
    intake: httpx.AsyncClient,
) -> None:
    body = filing(
        lead_window={"department": "tax", "window_id": "W-07"},
        materials=materials_for("JM-REST-001") | {"police": {"印章样式": "doc://9"}},
    )
    response = await intake.post("/api/v1/cases", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            application_invalid("lead_window.department", "JM-REST-001 is led by market, not tax"),
            application_invalid("materials.police", "police has no part in JM-REST-001"),
        ]
    }


@dataclass(frozen=True)
class Misshapen:
    """A request FastAPI rejects before any rule runs; `{case}` in the path is a filed case."""

    path: str
    body: Json | bytes
    loc: tuple[str | int, ...]
    type: str
    headers: tuple[tuple[str, str], ...] = ()


def action(kind: str, **fields: Any) -> Json:
    return {"action": {"kind": kind, **fields}}


MISSHAPEN = [
    pytest.param(
        Misshapen("/api/v1/cases/{case}/evaluation", {"score": 9}, ("body", "score"), "less_than_equal"),
        id="an evaluation scored 9",
    ),
    pytest.param(
        Misshapen("/api/v1/cases", {k: v for k, v in filing().items() if k != "applicant"}, ("body", "applicant"), "missing"),
        id="a filing without its applicant",
    ),
    pytest.param(
        Misshapen(
            "/api/v1/cases",
            filing(applicant={"kind": "company", "name": "某公司", "id_number": "91330100MA2H000001"}),
            ("body", "applicant", "kind"),
            "string_pattern_mismatch",
        ),
        id="an applicant neither person nor enterprise",
    ),
    pytest.param(
        Misshapen(
            "/api/v1/cases",
            filing(applicant={"kind": "person", "name": "张三", "id_number": "330102199001010011", "nickname": "三"}),
            ("body", "applicant", "nickname"),
            "extra_forbidden",
        ),
        id="an applicant with a field nobody asked for",
    ),
    pytest.param(
        Misshapen("/api/v1/cases", filing(materials=["doc://1"]), ("body", "materials"), "dict_type"),
        id="materials that are not per department",
    ),
    pytest.param(
        Misshapen(
            "/api/v1/cases",
            filing(),
            ("header", "idempotency-key"),
            "string_too_long",
            headers=(("Idempotency-Key", "k" * 201),),
        ),
        id="an Idempotency-Key over 200 characters",
    ),
    pytest.param(
        Misshapen("/api/v1/cases", b'{"matter_code": ', ("body", 16), "json_invalid"),
        id="a body that is not JSON",
    ),
    pytest.param(
        Misshapen("/api/v1/cases/{case}/supplement", {}, ("body", "materials"), "missing"),
        id="a supplement of nothing",
    ),
    pytest.param(
        Misshapen(
            "/api/v1/departments/fire/work/{case}-fire/actions", action("approve_all"), ("body", "action"), "union_tag_invalid"
        ),
        id="an action of no known kind",
    ),
    pytest.param(
        Misshapen(
            "/api/v1/departments/fire/work/{case}-fire/actions",
            action("request_extension", days=0, reason="需现场复查"),
            ("body", "action", "request_extension", "days"),
            "greater_than_equal",
        ),
        id="an extension of no days",
    ),
]


@pytest.mark.parametrize("misshapen", MISSHAPEN)
async def test_a_body_of_the_wrong_shape_is_a_422_naming_the_field(intake: httpx.AsyncClient, misshapen: Misshapen) -> None:
    path = misshapen.path.format(case=await file_case(intake)) if "{case}" in misshapen.path else misshapen.path
    headers = dict(misshapen.headers)
    if isinstance(misshapen.body, bytes):
        response = await intake.post(path, content=misshapen.body, headers=headers | {"Content-Type": "application/json"})
    else:
        response = await intake.post(path, json=misshapen.body, headers=headers)
    assert response.status_code == 422, response.text
    assert [(tuple(e["loc"]), e["type"]) for e in response.json()["detail"]] == [(misshapen.loc, misshapen.type)]


@pytest.mark.parametrize(
    ("previous", "reason"),
    [
        pytest.param(NOBODY, f"首次申请 {NOBODY} 不存在 (no such first application)", id="a first application nobody filed"),
        pytest.param(
            "{case}",
            "只有要求整改的办件可以二次申请 (only a case that required rectification takes a second application)",
            id="a first application that required no rectification",
        ),
    ],
)
async def test_a_second_application_without_a_rectified_first_is_a_409_with_the_reason(
    intake: httpx.AsyncClient, previous: str, reason: str
) -> None:
    first = await file_case(intake)
    response = await intake.post("/api/v1/cases", json=filing(previous_case_id=previous.format(case=first)))
    assert response.status_code == 409
    assert response.json() == {"detail": {"reason": reason}}
    assert len(await open_work(intake, "fire")) == 1


async def test_a_case_another_writer_changes_on_every_try_is_a_409_asking_to_retry_and_changes_nothing(
    intake: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = await file_case(intake)
    flush = CaseBook.flush

    async def flush_after_another_writer(book: CaseBook) -> None:
        await book.session.execute(update(CaseRecord).values(version=CaseRecord.version + 1))
        await flush(book)

    with monkeypatch.context() as patched:
        patched.setattr(CaseBook, "flush", flush_after_another_writer)
        response = await act(intake, case_id, "fire", {"kind": "accept"})
    assert response.status_code == 409
    assert response.json() == {"detail": f"办件 {case_id} 正被同时修改，请重试 (changed concurrently; retry)"}
    assert part_states(await read_case(intake, case_id)) == dict.fromkeys(DEPARTMENTS, "forwarded")


async def test_a_concluded_case_takes_one_delivery_and_one_evaluation_and_a_poor_mark_needs_its_reason(
    intake: httpx.AsyncClient,
) -> None:
    case_id = await file_case(intake)
    for department in DEPARTMENTS:
        await act(intake, case_id, department, {"kind": "accept"})
    for department in DEPARTMENTS:
        assert (await act(intake, case_id, department, {"kind": "approve", "document_number": f"{department}-1"})).is_success
    concluded = {"case_state": "concluded", "owes_next_step": []}

    poor = await intake.post(f"/api/v1/cases/{case_id}/evaluation", json={"score": 2})
    assert poor.status_code == 409
    assert poor.json() == {"detail": {"reason": "差评须说明理由 (a poor mark needs its reason)"} | concluded}

    for path, body, reason in [
        ("delivery", {}, "文书已送达 (the documents were already delivered)"),
        ("evaluation", {"score": 5}, "本案已评价 (the case was already evaluated)"),
    ]:
        assert (await intake.post(f"/api/v1/cases/{case_id}/{path}", json=body)).status_code == 200
        second = await intake.post(f"/api/v1/cases/{case_id}/{path}", json=body)
        assert second.status_code == 409
        assert second.json() == {"detail": {"reason": reason} | concluded}


# -- gateway ---------------------------------------------------------------------------------------


async def test_a_case_nobody_filed_is_a_404_at_the_gateway(make_sessions: MakeSessions, tmp_path: Path) -> None:
    app = FastAPI()
    app.include_router(gateway_api.router(await make_sessions(GATEWAY_SCHEMA), access(), FilesystemStore(tmp_path)))
    async with client_of(app) as gateway:
        response = await gateway.get(f"/api/v1/cases/{NOBODY}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"未找到 办件 {NOBODY} (case; the gateway may not know it yet) (not found)"}


# -- supervision -----------------------------------------------------------------------------------


@pytest.fixture
async def supervision_sessions(make_sessions: MakeSessions) -> SessionFactory:
    return await make_sessions(SUPERVISION_SCHEMA)


def supervision(sessions: SessionFactory, clock: Clock = SYSTEM_CLOCK) -> httpx.AsyncClient:
    """Supervision's HTTP as services/supervision/bootstrap.py composes it, without Kafka or scanner."""
    desk = AlertDesk(Outbox("/test/supervision", Topics("test")), NAMES)
    app = FastAPI()
    app.include_router(supervision_api.router(sessions, clock, desk, lambda: None, WorkingCalendar(), access()))
    return client_of(app)


def part_clock(work_order_id: str, decided_at: datetime | None = None) -> PartClock:
    case_id, department = work_order_id.rsplit("-", 1)
    return PartClock(
        work_order_id=work_order_id,
        case_id=case_id,
        department=department,
        part_code="FIRE-OPEN",
        matter_code="JM-REST-001",
        time_limit_days=10,
        started_at=T0,
        decided_at=decided_at,
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "detail"),
    [
        pytest.param(
            "GET",
            f"/api/v1/supervision/cases/{NOBODY}",
            None,
            f"监察系统中未找到该办件 case {NOBODY} is not known to supervision",
            id="case",
        ),
        pytest.param(
            "POST",
            "/api/v1/supervision/alerts/no-such-alert/acknowledgement",
            {},
            "未找到 督办通知 no-such-alert (alert) (not found)",
            id="alert",
        ),
        pytest.param(
            "POST",
            f"/api/v1/supervision/parts/{NOBODY}-fire/urge",
            {},
            f"未找到该事项 no part {NOBODY}-fire",
            id="part",
        ),
    ],
)
async def test_an_unknown_case_alert_or_part_is_a_404_at_supervision(
    supervision_sessions: SessionFactory, method: str, path: str, body: Json | None, detail: str
) -> None:
    async with supervision(supervision_sessions) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": detail}


async def test_urging_a_decided_part_is_a_409_and_issues_no_urge(supervision_sessions: SessionFactory) -> None:
    async with supervision_sessions() as session, session.begin():
        session.add(part_clock("LB1-fire", decided_at=T0))
    async with supervision(supervision_sessions) as client:
        response = await client.post("/api/v1/supervision/parts/LB1-fire/urge", json={})
    assert response.status_code == 409
    assert response.json() == {"detail": "该部门已作出决定，无需催办 (the part is already decided)"}
    async with supervision_sessions() as session:
        part = await session.get(PartClock, "LB1-fire")
        assert part is not None
        assert part.urge_count == 0
        assert await session.scalar(select(func.count()).select_from(Alert)) == 0


async def test_moving_the_system_clock_is_a_409(supervision_sessions: SessionFactory) -> None:
    async with supervision(supervision_sessions) as client:
        response = await client.post("/api/v1/supervision/clock", json={"now": "2026-11-23T09:00:00+08:00"})
    assert response.status_code == 409
    assert response.json() == {"detail": "时钟由系统时间驱动 this supervision runs on the system clock"}


async def test_a_naive_datetime_on_the_manual_clock_is_a_422_and_the_clock_stays(supervision_sessions: SessionFactory) -> None:
    async with supervision(supervision_sessions, ManualClock(T0)) as client:
        response = await client.post("/api/v1/supervision/clock", json={"now": "2026-11-23T09:00:00"})
        assert response.status_code == 422
        assert response.json() == {"detail": "a clock needs an aware datetime"}
        assert (await client.get("/api/v1/supervision/clock")).json() == {"now": "2026-11-23T01:00:00Z"}


@pytest.mark.parametrize(
    ("method", "path", "body", "loc", "type_"),
    [
        pytest.param("GET", "/api/v1/supervision/violations?kind=late", None, ("query", "kind"), "enum", id="violation kind"),
        pytest.param(
            "GET",
            "/api/v1/supervision/statistics?since=last-week",
            None,
            ("query", "since"),
            "datetime_from_date_parsing",
            id="statistics period",
        ),
        pytest.param(
            "POST", "/api/v1/supervision/clock", {"now": "tomorrow"}, ("body", "now"), "datetime_from_date_parsing", id="clock"
        ),
    ],
)
async def test_a_supervision_request_of_the_wrong_shape_is_a_422_naming_the_field(
    supervision_sessions: SessionFactory, method: str, path: str, body: Json | None, loc: tuple[str, ...], type_: str
) -> None:
    async with supervision(supervision_sessions, ManualClock(T0)) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert [(tuple(e["loc"]), e["type"]) for e in response.json()["detail"]] == [(loc, type_)]


# -- bounds: found as 500s (PostgreSQL refused what SQLite let through), now 422s -------------------


async def test_a_negative_limit_on_a_work_queue_is_a_422(intake: httpx.AsyncClient) -> None:
    assert (await intake.get("/api/v1/departments/fire/work?limit=-1")).status_code == 422


@pytest.mark.parametrize("listing", ["overdue", "alerts", "violations"])
async def test_a_negative_limit_on_a_supervision_listing_is_a_422(supervision_sessions: SessionFactory, listing: str) -> None:
    async with supervision(supervision_sessions) as client:
        assert (await client.get(f"/api/v1/supervision/{listing}?limit=-1")).status_code == 422


@pytest.mark.parametrize("figures", ["statistics", "ranking"])
async def test_a_naive_period_on_supervision_figures_is_a_422(supervision_sessions: SessionFactory, figures: str) -> None:
    async with supervision_sessions() as session, session.begin():
        session.add(part_clock("LB1-fire"))  # the ranking asks for figures only of departments it knows
    async with supervision(supervision_sessions) as client:
        assert (await client.get(f"/api/v1/supervision/{figures}?since=2026-11-01T00:00:00")).status_code == 422


async def test_a_long_idempotency_key_on_a_department_action_still_does_nothing_twice(intake: httpx.AsyncClient) -> None:
    case_id = await file_case(intake)
    answers = [
        await intake.post(
            f"/api/v1/departments/fire/work/{case_id}-fire/actions",
            json={"action": {"kind": "accept"}},
            headers={"Idempotency-Key": "k" * 200},  # the longest the header allows
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]  # the second is the first's answer, not a 409


@pytest.mark.parametrize(
    ("materials", "field", "limit"),
    [
        pytest.param({f"d{n}": {"a": "doc://1"} for n in range(21)}, ["body", "materials"], "at most 20", id="departments"),
        pytest.param(
            {"market": {f"m{n}": "doc://1" for n in range(51)}}, ["body", "materials", "market"], "at most 50", id="materials"
        ),
        pytest.param(
            {"market": {"食品经营许可申请书": "doc://" + "x" * 2048}},
            ["body", "materials", "market", "食品经营许可申请书"],
            "at most 2048",
            id="reference",
        ),
    ],
)
async def test_a_materials_map_past_its_limits_is_a_422_naming_the_limit(
    intake: httpx.AsyncClient, materials: Json, field: list[str], limit: str
) -> None:
    response = await intake.post("/api/v1/cases", json=filing(materials=materials))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], limit in error["msg"]) == (field, True)
