"""The topic proves who acted, on the real broker with a department's own credentials: an action tax
sends for fire's part is refused, recorded as impersonation, and tax is told on its own feedback topic;
an action for tax's own part that tax's registered key did not sign is refused and recorded too; a
message of tax's that nobody can read comes back to tax there. The case goes on as if nothing was sent
(its real answers come signed from the departments' adapters)."""

from __future__ import annotations

import pytest

from deploy.kafka_acls import department_principal
from deploy.launcher import System
from shared.contracts import ActionRefused, CloudEvent, DeadLetter, Deny, RefusalRule
from tests.builders import acted
from tests.e2e.api import new_applicant, poll, reply_of, submit_restaurant
from tests.e2e.kafka_tools import TopicReader

pytestmark = pytest.mark.e2e


def test_an_action_on_taxs_topic_for_fires_part_is_refused_recorded_and_told_to_tax(system: System) -> None:
    case_id = submit_restaurant(system, new_applicant())
    tax = TopicReader(system.kafka.settings(department_principal("tax")))  # the tax department's own client
    forged = acted(case_id, "fire", Deny(reason="冒名", legal_basis="无"), staff_id="T-FORGER")
    tax.produce(
        system.topics.actions("tax"), CloudEvent.wrap(forged, source="/tax/forger", subject=case_id).to_bytes(), case_id.encode()
    )
    tax.produce(system.topics.actions("tax"), b"{not json", case_id.encode())
    unsigned = acted(case_id, "tax", Deny(reason="冒名", legal_basis="无"), staff_id="T-FORGER")  # its own part, unsigned
    tax.produce(
        system.topics.actions("tax"),
        CloudEvent.wrap(unsigned, source="/tax/forger", subject=case_id).to_bytes(),
        case_id.encode(),
    )

    def told(events: list[CloudEvent]) -> bool:
        kinds = [type(e.payload()) for e in events if e.subject == case_id]
        return kinds.count(ActionRefused) == 2 and DeadLetter in kinds

    feedback = [e.payload() for e in tax.events(system.topics.feedback("tax"), told) if e.subject == case_id]
    refused = sorted((f.rule, f.work_order_id) for f in feedback if isinstance(f, ActionRefused))
    assert refused == [(RefusalRule.IMPERSONATION, f"{case_id}-fire"), (RefusalRule.UNSIGNED, f"{case_id}-tax")]
    [letter] = [f for f in feedback if isinstance(f, DeadLetter)]
    assert (letter.department, letter.topic, letter.consumer) == (
        "tax",
        system.topics.actions("tax"),
        f"lianban-{system.center}-intake",
    )

    url = f"{system.url('supervision')}/api/v1/supervision/violations?case_id={case_id}"
    violations = poll(system, url, lambda rows: {"impersonation", "unsigned"} <= {v["kind"] for v in rows})
    assert sorted((v["kind_text"], v["department"]) for v in violations) == [
        ("冒用其他部门名义办理或伪造超时默许", "tax"),
        ("办理消息未经登记密钥签名或签名后被改动", "tax"),
    ]
    assert reply_of(system, case_id)["reply"]["outcome"] == "approved"  # fire's own system decided; the forgery changed nothing
