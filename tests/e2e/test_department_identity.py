"""The topic proves who acted, on the real broker with a department's own credentials: an action tax
sends for fire's part is refused, recorded as impersonation, and tax is told on its own feedback topic;
a message of tax's that nobody can read comes back to tax there too. The case goes on as if nothing
was sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deploy.kafka_acls import department_principal
from deploy.launcher import System
from shared.contracts import ActionRefused, CloudEvent, DeadLetter, Deny, DepartmentActed, RefusalRule
from tests.e2e.api import new_applicant, poll, reply_of, submit_restaurant
from tests.e2e.kafka_tools import TopicReader

pytestmark = pytest.mark.e2e


def test_an_action_on_taxs_topic_for_fires_part_is_refused_recorded_and_told_to_tax(system: System) -> None:
    case_id = submit_restaurant(system, new_applicant())
    tax = TopicReader(system.kafka.settings(department_principal("tax")))  # the tax department's own client
    forged = DepartmentActed(
        case_id=case_id,
        work_order_id=f"{case_id}-fire",
        department="fire",
        staff_id="T-FORGER",
        acted_at=datetime.now(UTC),
        action=Deny(reason="冒名", legal_basis="无"),
    )
    tax.produce(
        system.topics.actions("tax"), CloudEvent.wrap(forged, source="/tax/forger", subject=case_id).to_bytes(), case_id.encode()
    )
    tax.produce(system.topics.actions("tax"), b"{not json", case_id.encode())

    def told(events: list[CloudEvent]) -> bool:
        kinds = {type(e.payload()) for e in events if e.subject == case_id}
        return {ActionRefused, DeadLetter} <= kinds

    feedback = [e.payload() for e in tax.events(system.topics.feedback("tax"), told) if e.subject == case_id]
    [refused] = [f for f in feedback if isinstance(f, ActionRefused)]
    assert (refused.department, refused.rule, refused.work_order_id) == ("tax", RefusalRule.IMPERSONATION, f"{case_id}-fire")
    [letter] = [f for f in feedback if isinstance(f, DeadLetter)]
    assert (letter.department, letter.topic, letter.consumer) == (
        "tax",
        system.topics.actions("tax"),
        f"lianban-{system.center}-intake",
    )

    url = f"{system.url('supervision')}/api/v1/supervision/violations?case_id={case_id}"
    violations = poll(system, url, lambda rows: any(v["kind"] == "impersonation" for v in rows))
    assert [(v["kind_text"], v["department"]) for v in violations if v["kind"] == "impersonation"] == [
        ("冒用其他部门名义办理或伪造超时默许", "tax")
    ]
    assert reply_of(system, case_id)["reply"]["outcome"] == "approved"  # fire's own system decided; the forgery changed nothing
