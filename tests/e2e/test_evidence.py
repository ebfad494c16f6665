"""The record on the real broker, as an auditor checks it: a case whose departments' adapters signed every
action exports evidence that verifies offline, hashes and signatures; replaying the case's published
events gives the state intake stored; `lianban audit verify` finds the center's record intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from deploy.launcher import System
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.replay import replay
from shared.contracts import CaseSubmitted, CloudEvent, WorkOrder
from shared.identity import Role
from tests.e2e.api import as_role, http, new_applicant, poll, reply_of, submit_restaurant
from tests.e2e.kafka_tools import TopicReader
from tests.offline_evidence import verify_chain_offline, verify_signatures_offline

pytestmark = pytest.mark.e2e
DEPARTMENTS = ("market", "fire", "tax")


def test_a_concluded_case_verifies_offline_replays_to_intakes_state_and_audits_intact(
    system: System, topics_reader: TopicReader
) -> None:
    case_id = submit_restaurant(system, new_applicant())
    reply_of(system, case_id)

    evidence_url = f"{system.url('supervision')}/api/v1/supervision/cases/{case_id}/evidence"

    def sealed_to_the_reply(body: dict[str, object]) -> bool:
        """The conclusion and the reply both recorded and sealed (supervision reads them from two topics, in
        either order), nothing waiting to be sealed."""
        kinds = {e["event_type"] for e in body.get("entries") or []}  # type: ignore[attr-defined]
        return not body["unsealed"] and {"cn.lianban.case.concluded.v1", "cn.lianban.case.replied.v1"} <= kinds

    evidence = poll(system, evidence_url, sealed_to_the_reply)
    signed = [e for e in evidence["entries"] if "signed_event" in e["summary"]]
    assert sorted(e["department"] for e in signed) == sorted(DEPARTMENTS * 2)  # pre-review and decision, each signed
    assert sorted(k["department"] for k in evidence["keys"]) == sorted(DEPARTMENTS)
    assert verify_chain_offline(evidence) == []
    assert verify_signatures_offline(evidence) == []
    for entry in signed:  # the part keeps the time the department signed, the receipt beside it
        assert entry["summary"]["acted_at"] == entry["summary"]["signed_event"]["data"]["acted_at"]
        assert entry["summary"]["received_at"] >= entry["summary"]["acted_at"]
    print(f"\nevidence of {case_id}: {len(evidence['entries'])} entries, {len(json.dumps(evidence))} bytes")

    def of_case(topic: str) -> list[CloudEvent]:
        return [e for e in topics_reader.events(topic, lambda es: any(e.subject == case_id for e in es)) if e.subject == case_id]

    published = [e.payload() for e in of_case(system.topics.case_events)]
    orders = [e.payload() for d in DEPARTMENTS for e in of_case(system.topics.work(d))]
    opening = [e for e in published if isinstance(e, CaseSubmitted)]
    first_orders = [o for o in orders if isinstance(o, WorkOrder) and o.round == 1]
    replayed = replay([*opening, *first_orders, *(e for e in published if not isinstance(e, CaseSubmitted))])
    with http(system) as client:
        stored = client.get(f"{system.url('intake')}/api/v1/cases/{case_id}", headers=as_role(system, Role.WINDOW)).json()
    assert replayed.model_dump(exclude={"query_code"}) == JointCase.model_validate(stored["case"]).model_dump(
        exclude={"query_code"}
    )

    env = {**os.environ, **system.audit_env()}
    audit = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "signatures checked" in audit.stdout
    assert audit.stdout.splitlines()[-1].endswith("intact 完整性校验通过")
