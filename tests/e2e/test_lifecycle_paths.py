"""The paths a real joint case takes, end to end on the real broker, through department systems
(simulators behind adapters) and through the HTTP work queue of departments without one."""

from __future__ import annotations

import pytest

from deploy.demo import restaurant_case
from deploy.launcher import System
from shared.identity import Role
from tests.e2e.api import act, as_role, department_rule, http, new_applicant, poll, reply_of, submit, submit_restaurant

pytestmark = pytest.mark.e2e


def test_a_supplement_comes_back_once_and_the_same_case_goes_on(system: System) -> None:
    applicant = new_applicant()
    department_rule(system, "fire", applicant, prereview="supplement")
    case_id = submit_restaurant(system, applicant)
    gateway = f"{system.url('gateway')}/api/v1/cases/{case_id}"

    waiting = poll(system, gateway, lambda b: b["status"] == "awaiting_supplement")
    assert waiting["status_text"] == "待补正"
    notice = waiting["notice"]
    assert [(i["department"], i["material"]) for i in notice["items"]] == [("fire", "消防安全检查申请表")]
    assert "一次性告知" in notice["notice"]

    supplemented = http(system).post(
        f"{system.url('intake')}/api/v1/cases/{case_id}/supplement",
        json={"materials": {"fire": {"消防安全检查申请表": "doc://demo/fire-form-v2"}}},
    )
    assert supplemented.status_code == 200, supplemented.text
    assert supplemented.json()["case"]["round"] == 2

    reply = reply_of(system, case_id)["reply"]
    assert reply["outcome"] == "approved"
    assert {p["department"] for p in reply["parts"]} == {"market", "fire", "tax"}


def test_a_department_without_a_system_denies_through_its_work_queue(system: System) -> None:
    """企业设立: market and tax answer through their systems, police and social insurance by hand."""
    body = restaurant_case(new_applicant()) | {
        "matter_code": "JM-ENT-001",
        "materials": {
            "market": {"公司登记申请书": "doc://1", "公司章程": "doc://2", "股东主体资格证明": "doc://3"},
            "police": {"营业执照副本": "doc://4", "法定代表人身份证明": "doc://5"},
            "tax": {"财务负责人信息": "doc://6"},
            "hrss": {"营业执照副本": "doc://7", "参保人员名单": "doc://8"},
        },
    }
    created = submit(system, body)
    assert created.status_code == 201, created.text
    case_id = created.json()["case"]["case_id"]

    queue = http(system).get(f"{system.url('intake')}/api/v1/departments/hrss/work").json()
    assert case_id in {item["case_id"] for item in queue}
    early = act(system, "hrss", f"{case_id}-hrss", {"kind": "deny", "legal_basis": "x", "reason": "y"})
    assert early.status_code == 409
    assert "not accepted yet" in early.json()["detail"]["reason"]

    for dept in ("police", "hrss"):
        assert act(system, dept, f"{case_id}-{dept}", {"kind": "accept"}).status_code == 200
    poll(system, f"{system.url('intake')}/api/v1/cases/{case_id}", lambda b: b["case"]["state"] == "handling")
    assert act(system, "police", f"{case_id}-police", {"kind": "approve", "document_number": "备案-2026-001"}).status_code == 200
    denied = act(
        system,
        "hrss",
        f"{case_id}-hrss",
        {
            "kind": "deny",
            "legal_basis": "《社会保险法》第五十七条",
            "reason": "参保人员名单与劳动合同不符",
            "written_opinion": "请核对参保人员后重新申请",
        },
    )
    assert denied.status_code == 200, denied.text
    twice = act(system, "hrss", f"{case_id}-hrss", {"kind": "approve", "document_number": "SB-1"})
    assert twice.status_code == 409

    reply = reply_of(system, case_id)["reply"]
    assert reply["outcome"] == "denied"
    assert "参保人员名单与劳动合同不符" in reply["message"]
    assert "《社会保险法》第五十七条" in reply["message"]

    timeline = poll(
        system,
        f"{system.url('supervision')}/api/v1/supervision/cases/{case_id}",
        lambda b: sum(t["event_type"] == "cn.lianban.action.refused.v1" for t in b["timeline"]) == 2,
    )
    refused = [t for t in timeline["timeline"] if t["event_type"] == "cn.lianban.action.refused.v1"]
    assert {t["department"] for t in refused} == {"hrss"}


def test_delivery_and_evaluation_are_recorded_for_the_applicant(system: System) -> None:
    applicant = new_applicant()
    case_id = submit_restaurant(system, applicant)
    reply_of(system, case_id)
    intake = f"{system.url('intake')}/api/v1/cases/{case_id}"
    assert http(system).post(f"{intake}/delivery", json={}).status_code == 200
    poor = http(system).post(f"{intake}/evaluation", json={"score": 1})  # entered at the window
    assert poor.status_code == 409
    assert "差评须说明理由" in poor.json()["detail"]["reason"]
    by_the_applicant = as_role(system, Role.APPLICANT, "applicant-01", id_number=applicant)
    assert http(system).post(f"{intake}/evaluation", json={"score": 5}, headers=by_the_applicant).status_code == 200
    view = poll(system, f"{system.url('gateway')}/api/v1/cases/{case_id}", lambda b: b["evaluation"] is not None)
    assert view["delivery"]["method"] == "窗口领取"
    assert len(view["delivery"]["documents"]) == 3
    assert view["evaluation"]["score"] == 5
