"""Every bridge end to end on the real broker: a department by its API, one across a file ferry with
its agent, one through an intermediate database, one on its own Kafka cluster mirrored by MirrorMaker 2;
and the copy no department read (送达异常), raised and cleared by itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deploy.demo import restaurant_case, road_case
from deploy.kafka_local import KafkaAccess
from deploy.launcher import System
from shared.departments import Bridge
from tests.e2e.api import new_applicant, poll, reply_of, submit
from tests.e2e.systems import running

pytestmark = pytest.mark.e2e

BRIDGES: dict[str, Bridge] = {"market": "http", "fire": "ferry", "tax": "database", "urban": "kafka", "traffic": "http"}
UNDELIVERED_AFTER = 4.0
SETTINGS = {
    "LIANBAN_SUPERVISION_CLOCK": "system",  # 送达异常 is counted in real seconds here
    "LIANBAN_SUPERVISION_UNDELIVERED_AFTER_SECONDS": str(UNDELIVERED_AFTER),
    "LIANBAN_ADAPTER_REPORT_SECONDS": "0.5",
    "LIANBAN_ADAPTER_FERRY_BUNDLE_SECONDS": "0.3",
    "LIANBAN_ADAPTER_BRIDGE_POLL_SECONDS": "0.3",
    "LIANBAN_FERRY_POLL_SECONDS": "0.3",
    "LIANBAN_FERRY_BUNDLE_SECONDS": "0.3",
    "LIANBAN_SIM_POLL_SECONDS": "0.3",
}


@pytest.fixture(scope="module")
def bridged(kafka: KafkaAccess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A center whose five departments are each on their bridge (the departments file's own choice)."""
    yield from running(
        kafka, f"br{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("bridged"), None, bridges=BRIDGES, env=SETTINGS
    )


def file(system: System, body: dict[str, Any]) -> str:
    response = submit(system, body)
    assert response.status_code == 201, response.text
    return str(response.json()["case"]["case_id"])


def test_a_department_on_each_bridge_answers_its_part(bridged: System) -> None:
    restaurant = file(bridged, restaurant_case(new_applicant()))
    road = file(bridged, road_case(new_applicant()))

    for case_id, departments in ((restaurant, {"market", "fire", "tax"}), (road, {"urban", "traffic"})):
        reply = reply_of(bridged, case_id, timeout=90)["reply"]
        assert reply["outcome"] == "approved", reply["message"]
        assert {p["department"] for p in reply["parts"]} == departments
        assert all(p["outcome"] == "approved" and p["document_number"] for p in reply["parts"]), reply["parts"]

    seen = poll(
        bridged,
        bridges_view(bridged),
        lambda body: {v["department"] for v in body if v["last_contact_at"]} >= {"market", "fire", "tax", "urban", "traffic"},
    )
    shown = {v["department"]: v for v in seen}
    assert {d: v["bridge"] for d, v in shown.items()} == BRIDGES
    assert {d: v["status_text"] for d, v in shown.items()} == dict.fromkeys(BRIDGES, "正常")
    assert shown["urban"]["detail"]["lag"] == 0  # its system read everything mirrored to its cluster


def test_work_no_department_read_raises_an_alert_that_clears_when_it_is_read(bridged: System) -> None:
    bridged.kill("ferry-fire")  # the ferry's far side is down: bundles pile up unread
    try:
        case_id = file(bridged, restaurant_case(new_applicant()))
        late = poll(
            bridged, bridges_view(bridged), lambda body: any(v["department"] == "fire" and v["undelivered_open"] for v in body)
        )
        fire = next(v for v in late if v["department"] == "fire")
        assert (fire["status_text"], fire["bridge"]) == ("送达异常", "ferry")
        assert fire["waiting"] >= 1
        raised = alerts_on_timeline(bridged, case_id)
        assert [(a["department"], a["summary"]["work"], a["summary"]["cleared"]) for a in raised] == [("fire", "review1", False)]
        assert "消防救援支队 尚未签收" in raised[0]["summary"]["message"]
    finally:
        bridged.restart("ferry-fire")
    poll(
        bridged,
        bridges_view(bridged),
        lambda body: any(v["department"] == "fire" and v["undelivered_open"] == 0 and v["undelivered_total"] for v in body),
        timeout=60,
    )
    assert [a["summary"]["cleared"] for a in alerts_on_timeline(bridged, case_id)] == [False, True]  # cleared by itself
    assert reply_of(bridged, case_id, timeout=90)["reply"]["outcome"] == "approved"


def bridges_view(system: System) -> str:
    return f"{system.url('supervision')}/api/v1/supervision/bridges"


def alerts_on_timeline(system: System, case_id: str) -> list[dict[str, Any]]:
    """The case's 送达异常 as supervision's timeline shows them, raised and cleared."""
    case = poll(system, f"{system.url('supervision')}/api/v1/supervision/cases/{case_id}", lambda body: True)
    return [t for t in case["timeline"] if t["event_type"] == "cn.lianban.supervision.delivery_alert.v1"]
