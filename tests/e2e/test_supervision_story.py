"""The silent department, end to end on the real broker: a case whose tax part never answers gets a
reminder, a yellow card, three urgings, a shirking record, a red card, and a deemed approval five
working days after the first urging; the unified reply shows the tax part as deemed approved."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from deploy.launcher import System
from shared.workdays import WorkingCalendar
from tests.e2e.api import department_rule, http, new_applicant, poll, reply_of, submit_restaurant

pytestmark = pytest.mark.e2e
CALENDAR = WorkingCalendar()


@pytest.mark.usefixtures("real_time")
def test_a_silent_tax_department_is_warned_urged_recorded_and_deemed_to_approve(system: System) -> None:
    applicant = new_applicant()
    department_rule(system, "tax", applicant, decision="silent")
    case_id = submit_restaurant(system, applicant)
    supervision = f"{system.url('supervision')}/api/v1/supervision"

    def others_decided(body: dict[str, Any]) -> bool:
        states = {p["department"]: p["state"] for p in body["parts"]}
        return states.get("market") == states.get("fire") == "done_on_time" and states.get("tax") == "running"

    view = poll(system, f"{supervision}/cases/{case_id}", others_decided)
    tax = next(p for p in view["parts"] if p["department"] == "tax")
    deadline = datetime.fromisoformat(tax["deadline"])
    assert deadline == CALENDAR.deadline(datetime.fromisoformat(tax["started_at"]), 5)

    def kinds_after(moment: datetime, expected: int) -> list[str]:
        moved = http(system).post(f"{supervision}/clock", json={"now": moment.isoformat()})
        assert moved.status_code == 200
        alerts = poll(system, f"{supervision}/alerts?case_id={case_id}", lambda rows: len(rows) >= expected)
        return sorted(a["kind"] for a in alerts)

    minute = timedelta(minutes=1)
    assert kinds_after(CALENDAR.shift(deadline, -1) + minute, 1) == ["reminder"]
    first_urge = deadline + minute
    assert kinds_after(first_urge, 3) == ["reminder", "urge", "yellow_card"]
    kinds_after(CALENDAR.shift(first_urge, 1), 4)
    assert kinds_after(CALENDAR.shift(first_urge, 2), 6).count("shirking") == 1
    assert kinds_after(CALENDAR.shift(deadline, 3) + minute, 8).count("red_card") == 1
    final = kinds_after(CALENDAR.shift(first_urge, 5), 9)
    assert final.count("urge") >= 3
    assert final.count("deemed_approval") == 1

    reply = reply_of(system, case_id)["reply"]
    tax_part = next(p for p in reply["parts"] if p["department"] == "tax")
    assert tax_part["outcome"] == "approved"
    assert tax_part["deemed"] is True
    assert "超时默许" in reply["message"]

    shirking = http(system).get(f"{supervision}/alerts", params={"case_id": case_id, "kind": "shirking"}).json()
    assert len(shirking[0]["evidence"]["urged_at"]) == 3
    notices = httpx.get(f"{system.simulator_url('tax')}/gov/v1/notices", timeout=5).json()
    assert {n["kind"] for n in notices if n["bizNo"] == f"{case_id}-tax"} >= {"reminder", "yellow_card", "urge"}
    acknowledged = poll(
        system,
        f"{supervision}/alerts?case_id={case_id}&kind=yellow_card",
        lambda rows: rows and rows[0]["acknowledged_at"] is not None,
    )
    assert acknowledged[0]["acknowledged_by"] == "TAX-STAFF-01"
