"""Supervision's record holds up in an audit: every timeline entry is sealed into its case's hash chain
and the center's ledger; a row changed or a case deleted behind the database's back is found by
`lianban audit verify`; a case's exported evidence, hashes and signatures, verifies offline by the
documented procedure (docs/evidence.md, written out again in tests/offline_evidence.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, select, update

from services.supervision.adapters.orm import SCHEMA, TimelineEntry
from services.supervision.domain.chain import Anchor
from services.supervision.entrypoints import api as supervision_api
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.seal import Sealer, audit, ledger_head
from shared.clock import SYSTEM_CLOCK
from shared.contracts import Approve, CloudEvent
from shared.db import SessionFactory
from shared.identity import Role
from shared.messaging.outbox import Outbox
from shared.signing import KeyRegistry
from shared.topics import Topics
from shared.workdays import WorkingCalendar
from tests import builders
from tests.builders import T0
from tests.identity import access, bearer
from tests.integration.supervision_world import NAMES, accepted, acted, cst, submitted, world
from tests.keys import registered_keys
from tests.offline_evidence import verify_chain_offline, verify_signatures_offline
from tests.servers import MakeSessions


async def write_timeline(sessions: SessionFactory, cases: dict[str, int]) -> None:
    """Entries as the consumer and the scanner write them, interleaved across cases."""
    rows = [
        {
            "case_id": case,
            "event_id": f"{case}-e{n}",
            "event_type": "cn.lianban.part.action_recorded.v1",
            "occurred_at": T0 + timedelta(minutes=n),
            "department": "tax",
            "summary": {"staff_id": "T-01", "action": {"kind": "accept"}, "n": n, "text": "受理"},
        }
        for n in range(max(cases.values()))
        for case, count in cases.items()
        if n < count
    ]
    async with sessions() as session, session.begin():
        session.add_all(TimelineEntry(**row) for row in rows)


async def sealed(make_sessions: MakeSessions, cases: dict[str, int]) -> SessionFactory:
    sessions = await make_sessions(SCHEMA)
    await write_timeline(sessions, cases)
    sealer = Sealer(sessions, batch_size=4)  # several batches: the chains go on across them
    while await sealer.seal():
        pass
    return sessions


async def test_every_entry_is_sealed_and_the_record_verifies(make_sessions: MakeSessions) -> None:
    sessions = await sealed(make_sessions, {"LB1": 5, "LB2": 3, "LB3": 4})
    report = await audit(sessions)
    assert (report.sealed, report.waiting, report.problems) == (12, 0, [])
    await write_timeline(sessions, {"LB4": 2})
    report = await audit(sessions)
    assert (report.sealed, report.waiting, report.intact) == (12, 2, True)  # written, not sealed yet: counted, not broken
    await Sealer(sessions).seal()
    report = await audit(sessions)
    assert (report.sealed, report.waiting, report.problems) == (14, 0, [])


async def test_a_row_changed_behind_the_databases_back_is_found(make_sessions: MakeSessions) -> None:
    sessions = await sealed(make_sessions, {"LB1": 5, "LB2": 3})
    async with sessions() as session, session.begin():
        await session.execute(
            update(TimelineEntry).where(TimelineEntry.event_id == "LB1-e2").values(summary={"staff_id": "SOMEONE-ELSE"})
        )
        await session.execute(
            update(TimelineEntry).where(TimelineEntry.event_id == "LB2-e1").values(occurred_at=T0 + timedelta(days=3))
        )
    problems = (await audit(sessions)).problems
    assert problems == [  # in ledger order: the entries were written interleaved
        "LB2#2: changed after it was sealed (event LB2-e1)",
        "LB1#3: changed after it was sealed (event LB1-e2)",
    ]


async def test_a_case_deleted_whole_is_found(make_sessions: MakeSessions) -> None:
    sessions = await sealed(make_sessions, {"LB1": 3, "LB2": 3, "LB3": 3})
    async with sessions() as session, session.begin():
        await session.execute(delete(TimelineEntry).where(TimelineEntry.case_id == "LB2"))
    problems = (await audit(sessions)).problems
    assert all("missing (deleted)" in p for p in problems)
    assert len(problems) == 3  # one gap in the ledger per entry of LB2 (they were interleaved with the others)


async def test_lianban_audit_verify_says_intact_then_broken(make_sessions: MakeSessions, database_url: str) -> None:
    sessions = await sealed(make_sessions, {"LB1": 3})
    env = {**os.environ, "LIANBAN_SUPERVISION_DATABASE_URL": database_url}

    def verify() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "deploy.cli", "audit", "verify"]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)

    intact = verify()
    assert (intact.returncode, intact.stdout.splitlines()[-1]) == (
        0,
        "3 entries sealed, 0 waiting to be sealed: intact 完整性校验通过",
    )
    async with sessions() as session, session.begin():
        await session.execute(update(TimelineEntry).where(TimelineEntry.event_id == "LB1-e1").values(department="fire"))
    broken = verify()
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[0] == "BROKEN LB1#2: changed after it was sealed (event LB1-e1)"


async def test_an_anchor_copied_out_finds_entries_cut_off_the_end(make_sessions: MakeSessions, database_url: str) -> None:
    """The chains cannot see their own last entries removed; a head kept outside the database can."""
    sessions = await sealed(make_sessions, {"LB1": 3, "LB2": 2})
    env = {**os.environ, "LIANBAN_SUPERVISION_DATABASE_URL": database_url}

    def lianban(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "deploy.cli", "audit", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)

    head = lianban("head").stdout.strip()
    assert head.startswith("5:")
    await write_timeline(sessions, {"LB3": 2})
    await Sealer(sessions).seal()
    assert lianban("verify", "--anchor", head).returncode == 0  # the ledger grew past the anchor: it still holds it
    async with sessions() as session, session.begin():
        await session.execute(delete(TimelineEntry).where(TimelineEntry.ledger_position >= 5))
    assert lianban("verify").returncode == 0  # the chains alone are fooled: what is left links up
    cut = lianban("verify", "--anchor", head)
    assert cut.returncode == 1
    assert cut.stdout.splitlines()[0] == "BROKEN anchor 5: the ledger ends at 4 (entries cut off its end)"
    assert lianban("verify", "--anchor", "5:nonsense").returncode == 2  # a mistyped anchor is refused, not ignored


async def export(
    sessions: SessionFactory, case_id: str, registry: KeyRegistry | None = None, role: Role = Role.SUPERVISOR
) -> httpx.Response:
    """GET the case's evidence from supervision's API, as `role`."""
    app = FastAPI()
    desk = AlertDesk(Outbox("/test/supervision", Topics("test")), NAMES)
    app.include_router(supervision_api.router(sessions, SYSTEM_CLOCK, desk, lambda: None, WorkingCalendar(), access(), registry))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(f"/api/v1/supervision/cases/{case_id}/evidence", headers=bearer(role))


async def test_an_exported_case_verifies_offline_and_an_altered_export_does_not(make_sessions: MakeSessions) -> None:
    sessions = await sealed(make_sessions, {"LB1": 4, "LB2": 2})
    response = await export(sessions, "LB1")
    assert (await export(sessions, "LB1", role=Role.WINDOW)).status_code == 403
    assert response.status_code == 200, response.text
    evidence = response.json()
    assert [e["sequence"] for e in evidence["entries"]] == [1, 2, 3, 4]
    assert evidence["ledger_head_position"] == 6
    assert verify_chain_offline(evidence) == []
    size = len(response.content)
    assert size < 10_000, size
    evidence["entries"][1]["summary"]["staff_id"] = "SOMEONE-ELSE"
    assert verify_chain_offline(evidence) == ["entry 2 does not hash to its entry_hash"]


async def test_signed_decisions_verify_offline_and_audit_finds_a_record_rewritten_with_fresh_hashes(
    make_sessions: MakeSessions, tmp_path: Path
) -> None:
    """Someone who can write the database changes a decision and recomputes every hash: the chains hold, the
    department's signature does not."""
    w = await world(make_sessions)
    signers, registry = registered_keys(tmp_path, "tax", "fire")
    case = submitted("LB1", {"tax": 3, "fire": 3}, cst(11, 23))
    await w.feed(case, accepted(case, cst(11, 23)))
    for department, decision in (("tax", Approve(document_number="税-1")), ("fire", Approve(document_number="消-1"))):
        sent = builders.acted("LB1", department, decision, staff_id="staff", at=cst(11, 24))
        signed = json.loads(signers[department].sign(CloudEvent.wrap(sent, source=f"/{department}", subject="LB1").to_bytes()))
        recorded = acted("LB1", department, decision, cst(11, 24)).model_copy(update={"signed_event": signed})
        await w.feed(recorded.model_copy(update={"received_at": cst(11, 24, 9, 1)}))
    while await Sealer(w.sessions).seal():
        pass
    report = await audit(w.sessions, registry)
    assert (report.sealed, report.signed, report.problems) == (4, 2, [])

    response = await export(w.sessions, "LB1", registry)
    assert response.status_code == 200, response.text
    evidence = response.json()
    assert [k["key_id"] for k in evidence["keys"]] == ["fire-1", "tax-1"]
    assert verify_chain_offline(evidence) == []
    assert verify_signatures_offline(evidence) == []
    forged = json.loads(json.dumps(evidence))
    forged["entries"][2]["summary"]["action"]["document_number"] = "税-假"
    assert verify_signatures_offline(forged) == ["entry 3 says other than the action its department signed"]

    anchor = Anchor(*await ledger_head(w.sessions))  # copied out of the database before the rewrite
    async with w.sessions() as session, session.begin():  # the rewrite: a changed decision, every hash recomputed
        entry = await session.scalar(select(TimelineEntry).where(TimelineEntry.sequence == 3))
        assert entry is not None
        entry.summary = {**entry.summary, "action": {**entry.summary["action"], "document_number": "税-假"}}
        await session.execute(update(TimelineEntry).values(sequence=None, ledger_position=None, ledger_hash=None))
    while await Sealer(w.sessions).seal():
        pass
    assert (await audit(w.sessions)).problems == []  # the chains alone are fooled
    assert (await audit(w.sessions, registry)).problems == ["LB1#3: says other than the signed action (action)"]
    assert (await audit(w.sessions, anchors=[anchor])).problems == [
        "anchor 4: the ledger hash differs (the record up to it was rewritten)"
    ]
