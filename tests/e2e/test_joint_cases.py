"""One window in, one window out: cases cross every service on the real broker to one reply."""

from __future__ import annotations

import time

import httpx
import pytest

from deploy.demo import restaurant_case
from deploy.launcher import System
from tests.e2e.api import department_rule, http, lianban, new_applicant, poll, reply_of, status, submit, submit_restaurant
from tests.e2e.kafka_tools import TopicReader

pytestmark = pytest.mark.e2e


def test_all_departments_approve_and_the_reply_lists_every_document(system: System) -> None:
    case_id = submit_restaurant(system, new_applicant())
    case = reply_of(system, case_id)
    reply = case["reply"]
    assert case["status"] == "concluded"
    assert case["status_text"] == "已办结"
    assert reply["outcome"] == "approved"
    assert sorted(p["department"] for p in reply["parts"]) == ["fire", "market", "tax"]
    for part in reply["parts"]:
        assert part["document_number"].startswith(part["department"].upper())
        assert part["document_number"] in reply["message"]
    assert "（消防救援支队）：准予" in reply["message"]  # departments named as the applicant knows them

    shown = lianban(system, "case", "show", case_id)  # what an operator sees
    assert shown.startswith(f"{case_id} 餐饮店开业联办：已办结")
    assert "税务局 发票票种核定：准予" in shown


def test_every_service_commits_what_it_has_read(system: System, topics_reader: TopicReader) -> None:
    """Offsets are committed in the background, a second at most after a batch is applied
    (shared/messaging/commits.py): once the system is quiet, no group of the center lags behind, as an
    operator checking the consumer groups would see."""
    reply_of(system, submit_restaurant(system, new_applicant()))
    prefix = f"lianban-{system.topics.center}-"
    deadline = time.monotonic() + 30
    groups = topics_reader.commits(prefix)
    while any(behind for _, behind in groups.values()) and time.monotonic() < deadline:
        time.sleep(0.5)
        groups = topics_reader.commits(prefix)
    committed = {group.removeprefix(prefix): read for group, (read, _) in groups.items()}
    for service in ("intake", "gateway", "supervision", "adapter-fire", "adapter-market", "adapter-tax"):
        assert committed.get(service, 0) > 0, f"{service} committed nothing"
    assert {group: behind for group, (_, behind) in groups.items() if behind} == {}


def test_one_department_denies_and_the_reply_gives_its_legal_basis(system: System) -> None:
    applicant = new_applicant()
    department_rule(system, "fire", applicant, decision="deny")
    reply = reply_of(system, submit_restaurant(system, applicant))["reply"]
    assert reply["outcome"] == "denied"
    fire = next(p for p in reply["parts"] if p["department"] == "fire")
    assert fire["outcome"] == "denied"
    assert fire["legal_basis"] == "《中华人民共和国消防法》第十五条"
    assert fire["reason"]
    assert fire["reason"] in reply["message"]
    assert {p["outcome"] for p in reply["parts"] if p["department"] != "fire"} == {"approved"}


def test_a_slow_department_delays_only_its_own_case(system: System) -> None:
    slow, quick = new_applicant(), new_applicant()
    department_rule(system, "tax", slow, delay_seconds=4)  # at pre-review and again at the decision
    slow_case = submit_restaurant(system, slow)
    quick_case = submit_restaurant(system, quick)
    reply_of(system, quick_case)
    assert status(system, slow_case)["reply"] is None, "the quick case was answered while the slow one still waits"
    case = reply_of(system, slow_case)
    assert case["reply"]["outcome"] == "approved"
    assert len(case["reply"]["parts"]) == 3


def test_the_same_idempotency_key_gives_the_same_case(system: System) -> None:
    body = restaurant_case(new_applicant())
    first = submit(system, body, key="window-W03-0001")
    second = submit(system, body, key="window-W03-0001")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["case"]["case_id"] == second.json()["case"]["case_id"]


def test_bad_input_gets_a_422_naming_the_field_and_the_reason(system: System) -> None:
    body = restaurant_case(new_applicant())
    body["applicant"]["kind"] = "robot"
    del body["materials"]["fire"]["场所消防安全制度"]
    response = submit(system, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "applicant", "kind"]
    body["applicant"]["kind"] = "enterprise"
    response = submit(system, body)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "materials", "fire"]
    assert "场所消防安全制度" in problem["msg"]


def test_an_unknown_matter_is_a_clear_404(system: System) -> None:
    body = restaurant_case(new_applicant()) | {"matter_code": "JM-NOPE"}
    response = submit(system, body)
    assert response.status_code == 404
    assert "JM-NOPE" in response.json()["detail"]
    assert httpx.get(f"{system.url('intake')}/api/v1/catalog/joint-matters/JM-NOPE", timeout=5).status_code == 404


def test_supervision_keeps_the_timeline_and_working_day_deadlines(system: System) -> None:
    case_id = submit_restaurant(system, new_applicant())
    reply_of(system, case_id)
    url = f"{system.url('supervision')}/api/v1/supervision/cases/{case_id}"
    view = poll(system, url, lambda b: any(t["event_type"] == "cn.lianban.case.replied.v1" for t in b["timeline"]))
    types = [t["event_type"] for t in view["timeline"]]
    assert types[0] == "cn.lianban.case.submitted.v1"
    assert types.count("cn.lianban.part.action_recorded.v1") == 6  # three pre-reviews, three decisions
    assert "cn.lianban.case.accepted.v1" in types
    assert {p["state"] for p in view["parts"]} == {"done_on_time"}
    assert all(p["deadline"] for p in view["parts"])
    assert http(system).get(f"{system.url('gateway')}/api/v1/cases/LB-UNKNOWN").status_code == 404
