"""Nothing is lost: a crashed adapter resumes its pending work once, and poison goes to the dead letters."""

from __future__ import annotations

import time
from typing import Any

import pytest

from deploy.launcher import System
from shared.contracts import CloudEvent, DeadLetter, DepartmentActed, SupervisionAlert
from tests.e2e.api import department_rule, http, lianban, new_applicant, poll, reply_of, submit_restaurant
from tests.e2e.kafka_tools import TopicReader

pytestmark = pytest.mark.e2e


def test_a_killed_adapter_handles_every_pending_work_order_once_after_restart(
    system: System,
    topics_reader: TopicReader,
) -> None:
    applicants = [new_applicant() for _ in range(12)]
    for applicant in applicants[:4]:
        department_rule(system, "tax", applicant, delay_seconds=3)  # in flight when the adapter dies
    cases = [submit_restaurant(system, a) for a in applicants[:4]]
    stats = f"{system.simulator_url('tax')}/gov/v1/stats"
    poll(system, stats, lambda s: s["distinct"] >= 1, timeout=20)
    system.kill("adapter-tax")
    cases += [submit_restaurant(system, a) for a in applicants[4:]]  # pile up while it is down
    time.sleep(1)
    system.restart("adapter-tax")

    for case_id in cases:
        reply = reply_of(system, case_id, timeout=60)["reply"]
        assert sorted(p["department"] for p in reply["parts"]) == ["fire", "market", "tax"]

    tax_orders = {f"{c}-tax" for c in cases}
    events = topics_reader.events(system.topics.actions("tax"), lambda evs: tax_orders <= decided(evs))
    answers: dict[tuple[str, str], set[str]] = {}
    for event in events:
        data = event.payload()
        if isinstance(data, DepartmentActed) and data.work_order_id in tax_orders:
            answers.setdefault((data.work_order_id, data.action.kind), set()).add(event.id)
    assert set(answers) == {(o, kind) for o in tax_orders for kind in ("accept", "approve")}, "all work was answered"
    assert all(len(ids) == 1 for ids in answers.values()), f"answered twice: {answers}"


def test_a_malformed_work_order_is_dead_lettered_and_the_adapter_goes_on(
    system: System,
    topics_reader: TopicReader,
) -> None:
    topics = system.topics
    sent = topics_reader.produce(topics.work("fire"), b"\xff not a cloud event", key=b"LB-GARBAGE")
    case_id = submit_restaurant(system, new_applicant())
    assert reply_of(system, case_id)["reply"]["outcome"] == "approved"

    def has_letter(events: list[CloudEvent]) -> bool:
        return any(e.subject == "LB-GARBAGE" for e in events)

    letters = [e.payload() for e in topics_reader.events(topics.dead_letters, has_letter) if e.subject == "LB-GARBAGE"]
    [letter] = letters
    assert isinstance(letter, DeadLetter)
    assert (letter.topic, letter.partition, letter.offset) == (sent.topic, sent.partition, sent.offset)
    assert letter.consumer.endswith("adapter-fire")
    assert "malformed message" in letter.error
    assert "not a cloud event" in letter.original
    listed = lianban(system, "dead-letters", "list")  # what an operator sees
    assert f"{sent.topic}[{sent.partition}]@{sent.offset} key=LB-GARBAGE" in listed
    assert "malformed message" in listed


@pytest.mark.usefixtures("real_time")
def test_an_undecided_part_past_its_deadline_raises_an_overdue_alert(
    system: System,
    topics_reader: TopicReader,
) -> None:
    applicant = new_applicant()
    department_rule(system, "fire", applicant, delay_seconds=8)
    case_id = submit_restaurant(system, applicant)
    supervision = f"{system.url('supervision')}/api/v1/supervision"

    def others_decided(body: dict[str, Any]) -> bool:
        states = {p["department"]: p["state"] for p in body["parts"]}
        return len(states) == 3 and states["market"] == states["tax"] == "done_on_time"

    view = poll(system, f"{supervision}/cases/{case_id}", others_decided)
    fire = next(p for p in view["parts"] if p["department"] == "fire")
    assert fire["state"] == "running"
    # Supervision's clock moves one minute past the fire part's deadline (10 working days).
    moved = http(system).post(f"{supervision}/clock", json={"now": _plus_minute(fire["deadline"])})
    assert moved.status_code == 200

    overdue = poll(system, f"{supervision}/overdue", lambda parts: any(p["case_id"] == case_id for p in parts))
    assert {p["department"] for p in overdue if p["case_id"] == case_id} == {"fire"}

    def ours(events: list[CloudEvent]) -> list[CloudEvent]:  # the ladder's; 送达异常 may come too, the clock moved days
        return [e for e in events if e.subject == case_id and e.type == SupervisionAlert.event_type]

    alerts = [e.payload() for e in ours(topics_reader.events(system.topics.alerts, lambda events: len(ours(events)) >= 2))]
    assert sorted((a.department, a.kind) for a in alerts) == [("fire", "urge"), ("fire", "yellow_card")]  # type: ignore[attr-defined]
    assert any("已超过承诺时限" in a.message for a in alerts)  # type: ignore[attr-defined]


def _plus_minute(iso: str) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(iso) + timedelta(minutes=1)).isoformat()


def decided(events: list[CloudEvent]) -> set[str]:
    actions = [e.payload() for e in events if e.type == DepartmentActed.event_type]
    return {a.work_order_id for a in actions if a.action.kind == "approve"}  # type: ignore[attr-defined]
