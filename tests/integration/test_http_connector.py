"""The HTTP connector speaks a department system's own protocol (camelCase, PASS/REJECT) over real
HTTP and translates each verdict into Lianban's action; anything it cannot make sense of, or a
system it cannot reach in time, is a ConnectorError (worth retrying)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.department_adapter.adapters.connector import ConnectorError, WorkRefused
from services.department_adapter.adapters.http_connector import HttpConnector
from services.department_adapter.domain.answer import Answer, NotYetDecided
from shared.contracts import (
    Accept,
    Applicant,
    Approve,
    Deny,
    DepartmentAction,
    HandlingStarted,
    Refuse,
    RequestSupplement,
    RequireRectification,
    SupervisionAlert,
    SupplementItem,
    WorkOrder,
)

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
TIMEOUT = 2.0  # generous: a first connection on a loaded 2-core CI machine took more than 0.3 s
APPLICANT = Applicant(kind="enterprise", name="杭州味道餐饮管理有限公司", id_number="91330100MA2H000001")
MATERIALS = {"消防安全制度": "doc://LB1/3", "疏散预案": "doc://LB1/4"}
FIRE_LAW = "《中华人民共和国消防法》第十五条"

ORDER = WorkOrder(
    work_order_id="LB1-fire",
    round=2,
    case_id="LB1",
    center="test",
    matter_code="JM-REST-001",
    department="fire",
    part_code="FIRE-OPEN",
    part_name="公众聚集场所投入使用、营业前消防安全检查",
    applicant=APPLICANT,
    materials=MATERIALS,
    time_limit_days=10,
    pre_review_days=2,
    issued_at=T0,
)
HANDLING = HandlingStarted(
    work_order_id="LB1-fire",
    case_id="LB1",
    department="fire",
    part_code="FIRE-OPEN",
    part_name="公众聚集场所投入使用、营业前消防安全检查",
    applicant=APPLICANT,
    materials=MATERIALS,
    time_limit_days=10,
    accepted_at=T0,
)
RED_CARD = SupervisionAlert(
    alert_id="AL-9",
    case_id="LB1",
    work_order_id="LB1-fire",
    department="fire",
    kind="red_card",
    message="您部门承办的事项已超期，请立即办理",
    deadline=T0,
    issued_by="supervision",
    issued_at=T0,
)


@dataclass
class FakeDepartmentSystem:
    """Answers every POST with the reply it is given, after `delay` seconds, and keeps what it was sent."""

    body: str = '{"code": 0, "result": "ACCEPT"}'
    status: int = 200
    delay: float = 0.0
    content_type: str = "application/json"
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def replies(self, body: dict[str, Any] | str, status: int = 200) -> None:
        self.body = body if isinstance(body, str) else json.dumps(body)
        self.status = status

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.path, await request.json()))
        await asyncio.sleep(self.delay)
        return web.Response(text=self.body, status=self.status, content_type=self.content_type)


@pytest.fixture
def system() -> FakeDepartmentSystem:
    return FakeDepartmentSystem()


@pytest.fixture
async def connector(system: FakeDepartmentSystem) -> AsyncIterator[HttpConnector]:
    app = web.Application()
    for path in ("/gov/v1/prereview", "/gov/v1/applications", "/gov/v1/notices"):
        app.router.add_post(path, system.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    connector = HttpConnector(str(server.make_url("/")), timeout=TIMEOUT)
    try:
        yield connector
    finally:
        await connector.close()
        await server.close()


@pytest.mark.parametrize(
    ("reply", "action"),
    [
        ({"result": "ACCEPT", "opinion": "材料齐全"}, Accept(opinion="材料齐全")),
        (
            {"result": "SUPPLEMENT", "missing": [{"name": "疏散预案", "reason": "材料不清晰，请重新提交"}]},
            RequestSupplement(items=[SupplementItem(material="疏散预案", reason="材料不清晰，请重新提交")]),
        ),
        (
            {"result": "REFUSE", "opinion": "申请事项不属于本部门受理范围", "lawBasis": FIRE_LAW},
            Refuse(reason="申请事项不属于本部门受理范围", legal_basis=FIRE_LAW),
        ),
    ],
    ids=["ACCEPT", "SUPPLEMENT", "REFUSE"],
)
async def test_each_pre_review_verdict_becomes_the_lianban_action(
    system: FakeDepartmentSystem, connector: HttpConnector, reply: dict[str, Any], action: DepartmentAction
) -> None:
    system.replies({"code": 0, "handler": "FIRE-STAFF-01", **reply})
    assert await connector.pre_review(ORDER) == Answer(action, "FIRE-STAFF-01")


@pytest.mark.parametrize(
    ("reply", "action"),
    [
        ({"result": "PASS", "docNo": "FIRE-2026-000001"}, Approve(document_number="FIRE-2026-000001")),
        (
            {"result": "REJECT", "lawBasis": FIRE_LAW, "opinion": "申请材料不符合法定条件"},
            Deny(legal_basis=FIRE_LAW, reason="申请材料不符合法定条件", written_opinion="申请材料不符合法定条件"),
        ),
        (
            {"result": "RECTIFY", "rectifyItems": ["按现场检查意见整改后重新申请"]},
            RequireRectification(items=["按现场检查意见整改后重新申请"]),
        ),
    ],
    ids=["PASS", "REJECT", "RECTIFY"],
)
async def test_each_decision_becomes_the_lianban_action(
    system: FakeDepartmentSystem, connector: HttpConnector, reply: dict[str, Any], action: DepartmentAction
) -> None:
    system.replies({"code": 0, "handler": "FIRE-STAFF-02", **reply})
    assert await connector.decide(HANDLING) == Answer(action, "FIRE-STAFF-02")


async def test_a_department_still_deciding_is_not_yet_decided(system: FakeDepartmentSystem, connector: HttpConnector) -> None:
    system.replies({"code": 0, "result": "PENDING"})
    with pytest.raises(NotYetDecided, match="LB1-fire"):
        await connector.decide(HANDLING)


async def test_the_request_carries_the_work_in_the_departments_own_terms(
    system: FakeDepartmentSystem, connector: HttpConnector
) -> None:
    await connector.pre_review(ORDER)
    system.replies({"result": "PASS", "docNo": "FIRE-2026-000001"})
    await connector.decide(HANDLING)

    work = {
        "bizNo": "LB1-fire",
        "caseRef": "LB1",
        "itemCode": "FIRE-OPEN",
        "applicantName": APPLICANT.name,
        "applicantCertNo": APPLICANT.id_number,
        "attachments": [{"name": "消防安全制度", "url": "doc://LB1/3"}, {"name": "疏散预案", "url": "doc://LB1/4"}],
    }
    assert system.received == [("/gov/v1/prereview", {**work, "round": 2}), ("/gov/v1/applications", work)]


async def test_a_notice_is_handed_over_and_its_handler_is_who_acknowledged(
    system: FakeDepartmentSystem, connector: HttpConnector
) -> None:
    system.replies({"code": 0, "result": "RECEIVED", "handler": "FIRE-DUTY-01"})
    assert await connector.notify(RED_CARD) == "FIRE-DUTY-01"
    assert system.received == [
        ("/gov/v1/notices", {"noticeId": "AL-9", "bizNo": "LB1-fire", "kind": "red_card", "message": RED_CARD.message})
    ]


async def test_an_answer_without_a_handler_is_from_an_unknown_staff_member(
    system: FakeDepartmentSystem, connector: HttpConnector
) -> None:
    system.replies({"result": "ACCEPT"})
    assert await connector.pre_review(ORDER) == Answer(Accept(), "unknown")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ('{"code": 500, "message": "internal error"}', 500, "500"),
        ("<html>502 Bad Gateway</html>", 200, "JSONDecodeError"),
        ('{"code": 0, "message": "ok"}', 200, "KeyError: 'result'"),
        ('{"code": 0, "result": "MAYBE"}', 200, "unknown pre-review verdict 'MAYBE'"),
    ],
    ids=["http-500", "not-json", "no-result", "unknown-verdict"],
)
async def test_an_answer_that_makes_no_sense_is_a_connector_error(
    system: FakeDepartmentSystem, connector: HttpConnector, body: str, status: int, error: str
) -> None:
    system.replies(body, status)
    with pytest.raises(ConnectorError, match=error):
        await connector.pre_review(ORDER)


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_request_the_system_refuses_is_not_asked_again(
    system: FakeDepartmentSystem, connector: HttpConnector, status: int
) -> None:
    system.replies('{"code": 40001, "message": "bizNo 格式错误"}', status)
    with pytest.raises(WorkRefused, match=f"HTTP {status}.*bizNo 格式错误"):
        await connector.pre_review(ORDER)


@pytest.mark.parametrize("status", [408, 429])
async def test_a_system_that_asks_to_come_back_later_is_asked_again(
    system: FakeDepartmentSystem, connector: HttpConnector, status: int
) -> None:
    system.replies('{"message": "busy"}', status)
    with pytest.raises(ConnectorError) as caught:
        await connector.pre_review(ORDER)
    assert not isinstance(caught.value, WorkRefused)


async def test_json_labelled_as_html_is_still_read(system: FakeDepartmentSystem, connector: HttpConnector) -> None:
    system.replies({"result": "ACCEPT", "handler": "FIRE-1"})
    system.content_type = "text/html"  # some department systems label everything so
    assert await connector.pre_review(ORDER) == Answer(Accept(), "FIRE-1")


async def test_an_unknown_decision_or_an_untaken_notice_is_a_connector_error(
    system: FakeDepartmentSystem, connector: HttpConnector
) -> None:
    system.replies({"result": "APPROVED"})
    with pytest.raises(ConnectorError, match="unknown verdict 'APPROVED'"):
        await connector.decide(HANDLING)
    with pytest.raises(ConnectorError, match="did not take the notice"):
        await connector.notify(RED_CARD)


async def test_a_system_that_answers_too_slowly_is_a_connector_error(
    system: FakeDepartmentSystem, connector: HttpConnector
) -> None:
    system.delay = TIMEOUT * 2
    with pytest.raises(ConnectorError, match="Timeout"):
        await connector.pre_review(ORDER)


async def test_a_system_that_refuses_the_connection_is_a_connector_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and closed again: nobody listens there
    connector = HttpConnector(f"http://127.0.0.1:{port}", timeout=TIMEOUT)
    try:
        with pytest.raises(ConnectorError, match="ClientConnectorError"):
            await connector.pre_review(ORDER)
    finally:
        await connector.close()
