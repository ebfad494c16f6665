"""Supervision's record holds up in an audit: every timeline entry is sealed into its case's hash chain
and the center's ledger; a row changed or a case deleted behind the database's back is found by
`lianban audit verify`; a case's exported evidence verifies offline by the documented procedure
(docs/evidence.md), here written out again with nothing but hashlib and json."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, update

from services.supervision.adapters.orm import SCHEMA, TimelineEntry
from services.supervision.entrypoints import api as supervision_api
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.seal import Sealer, audit
from shared.clock import SYSTEM_CLOCK
from shared.db import SessionFactory
from shared.identity import Role
from shared.messaging.outbox import Outbox
from shared.topics import Topics
from shared.workdays import WorkingCalendar
from tests.builders import T0
from tests.identity import access, bearer
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


def verify_offline(evidence: dict[str, Any]) -> list[str]:
    """docs/evidence.md, step by step, with nothing from Lianban."""
    problems, previous = [], "0" * 64
    for number, entry in enumerate(evidence["entries"], 1):
        covered = {k: entry[k] for k in ("case_id", "sequence", "event_id", "event_type", "occurred_at", "department", "summary")}
        covered["previous_hash"] = entry["previous_hash"]
        text = json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if entry["sequence"] != number or entry["previous_hash"] != previous:
            problems.append(f"entry {number} does not follow the one before")
        if hashlib.sha256(text.encode()).hexdigest() != entry["entry_hash"]:
            problems.append(f"entry {number} does not hash to its entry_hash")
        if hashlib.sha256((entry["ledger_previous"] + entry["entry_hash"]).encode()).hexdigest() != entry["ledger_hash"]:
            problems.append(f"entry {number} is not linked into the ledger")
        previous = entry["entry_hash"]
    return problems


async def test_an_exported_case_verifies_offline_and_an_altered_export_does_not(make_sessions: MakeSessions) -> None:
    sessions = await sealed(make_sessions, {"LB1": 4, "LB2": 2})
    app = FastAPI()
    desk = AlertDesk(Outbox("/test/supervision", Topics("test")))
    app.include_router(supervision_api.router(sessions, SYSTEM_CLOCK, desk, lambda: None, WorkingCalendar(), access()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/supervision/cases/LB1/evidence", headers=bearer(Role.SUPERVISOR))
        refused = await client.get("/api/v1/supervision/cases/LB1/evidence", headers=bearer(Role.WINDOW))
    assert refused.status_code == 403
    assert response.status_code == 200, response.text
    evidence = response.json()
    assert [e["sequence"] for e in evidence["entries"]] == [1, 2, 3, 4]
    assert evidence["ledger_head_position"] == 6
    assert verify_offline(evidence) == []
    size = len(response.content)
    assert size < 10_000, size
    evidence["entries"][1]["summary"]["staff_id"] = "SOMEONE-ELSE"
    assert verify_offline(evidence) == ["entry 2 does not hash to its entry_hash"]
