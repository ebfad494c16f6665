"""The console's reads and acts on supervision's own tables, in one process: the overview counts what was
fed, a case's chart shows its suspension, the live stream goes on from a cursor without gaps or repeats,
parallel handling is measured against serial, dead letters are kept, redriven through the outbox and
discarded with who and why, complaints are tracked to their resolution, and roles are held to their part."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.supervision.adapters.orm import TimelineEntry
from services.supervision.entrypoints import complaints_api, console_api, dead_letters_api
from services.supervision.service_layer.live import LiveCursor, LiveFilter
from shared.contracts import (
    Accept,
    Approve,
    CaseConcluded,
    CaseEvaluated,
    CloudEvent,
    DeadLetter,
    Outcome,
    PartOutcome,
    Resume,
    Suspend,
    SuspensionKind,
)
from shared.identity import Role
from shared.messaging.outbox import OutboxRow
from tests.identity import access, bearer
from tests.integration.supervision_world import (
    APPLICANT,
    CALENDAR,
    NAMES,
    TOPICS,
    UNDELIVERED_AFTER,
    World,
    accepted,
    acted,
    cst,
    submitted,
    world,
)
from tests.servers import MakeSessions

SUBMITTED = cst(11, 23, 9)


@pytest.fixture
async def fed(make_sessions: MakeSessions) -> World:
    """Two restaurant cases: LB1 concluded in parallel the day after acceptance; LB2 with fire suspended."""
    w = await world(make_sessions)
    one = submitted("LB1", {"market": 5, "tax": 5, "fire": 5}, SUBMITTED)
    two = submitted("LB2", {"market": 5, "fire": 10}, SUBMITTED)
    await w.feed(one, two)
    await w.feed(accepted(one, SUBMITTED + timedelta(hours=1)), accepted(two, SUBMITTED + timedelta(hours=1)))
    day2 = cst(11, 24, 10)
    for d in ("market", "tax", "fire"):
        await w.feed(acted("LB1", d, Approve(document_number=f"{d}-1"), day2))
    await w.feed(
        CaseConcluded(
            case_id="LB1",
            matter_name="餐饮店开业联办",
            outcome=Outcome.APPROVED,
            parts=[
                PartOutcome(department=d, part_code=f"{d.upper()}-1", part_name=d, outcome=Outcome.APPROVED)
                for d in ("market", "tax", "fire")
            ],
            concluded_at=day2,
        ),
        CaseEvaluated(case_id="LB1", score=5, evaluated_at=day2),
    )
    await w.feed(acted("LB2", "fire", Suspend(suspension_kind=SuspensionKind.INSPECTION_TESTING), cst(11, 24, 11)))
    await w.feed(acted("LB2", "fire", Resume(), cst(11, 26, 11)))
    await w.feed(acted("LB2", "fire", Suspend(suspension_kind=SuspensionKind.EXPERT_REVIEW), cst(11, 27, 11)))
    w.clock.set(cst(11, 27, 15))
    return w


@pytest.fixture
async def client(fed: World) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    gate = access()
    config = console_api.ConsoleConfig("test", "http://issuer.test", "lianban-console", NAMES, UNDELIVERED_AFTER, 0.01, 0.3)
    app.include_router(console_api.router(fed.sessions, fed.clock, gate, CALENDAR, config))
    app.include_router(dead_letters_api.router(fed.sessions, fed.clock, gate, lambda: None))
    app.include_router(complaints_api.router(fed.sessions, fed.clock, gate, CALENDAR, NAMES, 5))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://supervision") as c:
        yield c


SUPERVISOR = bearer(Role.SUPERVISOR, "SV-01")
OPERATOR = bearer(Role.OPERATOR, "OP-01")


async def test_the_overview_counts_cases_parts_marks_and_ranks_departments(client: httpx.AsyncClient) -> None:
    view = (await client.get("/api/v1/supervision/overview", headers=OPERATOR)).json()
    assert view["cases_by_state"] == {"submitted": 0, "handling": 1, "concluded": 1, "not_accepted": 0}
    fire = next(p for p in view["parts_by_department"] if p["department"] == "fire")
    assert (fire["department_name"], fire["states"]["suspended"], fire["states"]["done_on_time"]) == ("消防救援支队", 1, 1)
    assert view["evaluations"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert view["monthly"] == [{"month": "2026-11", "received": 2, "completed": 1, "completion_rate": 0.5, "on_time_rate": 1.0}]
    assert {r["department"] for r in view["ranking"]} == {"market", "tax", "fire"}


async def test_a_cases_chart_shows_each_part_and_its_suspensions(client: httpx.AsyncClient) -> None:
    chart = (await client.get("/api/v1/supervision/cases/LB2/gantt", headers=SUPERVISOR)).json()
    fire = next(p for p in chart["parts"] if p["department"] == "fire")
    assert (fire["state"], fire["state_text"]) == ("suspended", "中止计时")
    assert [s["until"] is None for s in fire["suspensions"]] == [False, True]  # one ended, one still running
    assert chart["days"][0]["date"] == "2026-11-23"
    assert chart["days"][-1]["working"] in (True, False)
    assert {"date": "2026-11-28", "working": False} in chart["days"]  # a Saturday
    missing = await client.get("/api/v1/supervision/cases/NOPE/gantt", headers=SUPERVISOR)
    assert missing.status_code == 404


async def test_parallel_handling_is_measured_against_the_parts_one_after_another(client: httpx.AsyncClient) -> None:
    saved = (await client.get("/api/v1/supervision/savings", headers=SUPERVISOR)).json()
    # LB1: accepted on the 23rd, concluded on the 24th (2 working days); its three parts took 2 each
    assert (saved["cases"], saved["joint_days"], saved["serial_days"], saved["saved_days"]) == (1, 2, 6, 4)
    assert saved["by_matter"] == [{"matter_code": "JM-REST-001", "cases": 1, "joint_days": 2, "serial_days": 6, "saved_days": 4}]


async def test_the_live_stream_goes_on_from_a_cursor_without_gaps_or_repeats(fed: World, client: httpx.AsyncClient) -> None:
    async with fed.sessions() as session:
        total = len(list(await session.scalars(select(TimelineEntry.id))))
        first = await LiveCursor(LiveFilter(), NAMES).read(session)
        assert len(first) == min(total, 50)
        cursor = LiveCursor(LiveFilter(), NAMES, after=first[-3]["id"])
        assert [e["id"] for e in await cursor.read(session)] == [e["id"] for e in first[-2:]]
        assert await cursor.read(session) == []
        fire_only = await LiveCursor(LiveFilter(department="fire", state="handling"), NAMES).read(session)
        fire = await LiveCursor(LiveFilter(department="fire"), NAMES).read(session)
    assert fire_only
    assert all(e["department"] == "fire" and e["case_id"] == "LB2" for e in fire_only)
    assert fire_only[-1]["department_name"] == "消防救援支队"
    assert fire_only[-1]["state_text"] == "办理中"

    wrong = await client.get("/api/v1/supervision/live?state=closed", headers=OPERATOR)
    assert wrong.status_code == 422
    assert "state" in wrong.text
    async with client.stream("GET", "/api/v1/supervision/live?department=fire", headers=OPERATOR) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join([chunk async for chunk in stream.aiter_text()])  # the stream ends after 0.3 s here
    events = [block for block in text.split("\n\n") if block]
    kinds = [b.split("\n")[0] for b in events]
    assert "event: heartbeat" in kinds
    assert kinds.count("event: entry") == len(fire) == len(fire_only) + 1
    entry = json.loads(next(b for b in events if b.startswith("event: entry")).split("data: ", 1)[1])
    assert entry["event_text"]
    assert entry["department"] == "fire"


async def test_dead_letters_are_kept_redriven_through_the_outbox_and_discarded_with_who_and_why(
    fed: World, client: httpx.AsyncClient
) -> None:
    original = CloudEvent.wrap(acted("LB2", "tax", Accept(), cst(11, 24, 9)), source="/test/tax", subject="LB2").to_bytes()
    letters = [
        DeadLetter.of(
            consumer="lianban-test-intake",
            error="boom",
            topic=TOPICS.actions("tax"),
            partition=0,
            offset=7,
            key="LB2",
            original=original,
            department="tax",
        ),
        DeadLetter.of(
            consumer="lianban-test-gateway",
            error="bad",
            topic=TOPICS.case_events,
            partition=1,
            offset=9,
            key="LB9",
            original=b"x" * 70_000,
        ),
    ]
    [kept, cut] = [e.id for e in await fed.feed(*letters, subject="LB2", topic=TOPICS.dead_letters)]
    listed = (await client.get("/api/v1/supervision/dead-letters", headers=OPERATOR)).json()
    assert {d["id"]: d["redrivable"] for d in listed} == {kept: True, cut: False}
    assert next(d for d in listed if d["id"] == kept)["topic"] == TOPICS.actions("tax")

    refused = await client.post("/api/v1/supervision/dead-letters/redrive", json={"ids": [kept]}, headers=OPERATOR)
    assert refused.status_code == 403  # an operator sees them, only a supervisor acts

    done = (
        await client.post(
            "/api/v1/supervision/dead-letters/redrive", json={"ids": [kept, cut], "reason": "修复"}, headers=SUPERVISOR
        )
    ).json()
    assert done["redriven"] == [kept]
    assert done["refused"][0]["id"] == cut
    assert "一部分" in done["refused"][0]["reason"]
    assert [(t, e.id) for t, e in await fed.outbox()] == [(TOPICS.actions("tax"), CloudEvent.from_bytes(original).id)]
    async with fed.sessions() as session:
        raw = await session.scalar(select(OutboxRow.payload))
    assert raw == original  # the same bytes, to the same topic

    again = (await client.post("/api/v1/supervision/dead-letters/redrive", json={"ids": [kept]}, headers=SUPERVISOR)).json()
    assert again["redriven"] == []
    assert "已处理" in again["refused"][0]["reason"]
    no_reason = await client.post("/api/v1/supervision/dead-letters/discard", json={"ids": [cut]}, headers=SUPERVISOR)
    assert no_reason.status_code == 422
    assert "reason" in no_reason.text
    await client.post("/api/v1/supervision/dead-letters/discard", json={"ids": [cut], "reason": "测试消息"}, headers=SUPERVISOR)
    everything = (await client.get("/api/v1/supervision/dead-letters?status=all", headers=OPERATOR)).json()
    assert {(d["id"], d["status_text"], d["acted_by"]) for d in everything} == {
        (kept, "已重投", "SV-01"),
        (cut, "已丢弃", "SV-01"),
    }
    async with fed.sessions() as session:
        acts = list(await session.scalars(select(TimelineEntry.event_type).where(TimelineEntry.case_id == "LB2")))
    assert acts.count("cn.lianban.supervision.dead_letter_redriven") == 1  # on the case's timeline (LB9 is no case)


async def test_complaints_are_filed_by_the_window_or_the_applicant_and_resolved_by_a_supervisor(
    fed: World, client: httpx.AsyncClient
) -> None:
    window = bearer(Role.WINDOW, "S-0107")
    filed = await client.post(
        "/api/v1/supervision/complaints", json={"case_id": "LB2", "department": "fire", "content": "检测拖延"}, headers=window
    )
    assert filed.status_code == 201
    complaint = filed.json()
    assert (complaint["department_name"], complaint["filed_via"], complaint["overdue"]) == ("消防救援支队", "window", False)
    assert complaint["due_at"].startswith("2026-12-04")  # five working days after Friday the 27th

    stranger = bearer(Role.APPLICANT, "someone", id_number="110101199001011234")
    assert (
        await client.post("/api/v1/supervision/complaints", json={"case_id": "LB2", "content": "x"}, headers=stranger)
    ).status_code == 404
    own = bearer(Role.APPLICANT, "owner", id_number=APPLICANT.id_number)
    assert (
        await client.post("/api/v1/supervision/complaints", json={"case_id": "LB2", "content": "慢"}, headers=own)
    ).status_code == 201
    wrong = await client.post(
        "/api/v1/supervision/complaints", json={"case_id": "LB2", "department": "zoo", "content": "x"}, headers=window
    )
    assert wrong.status_code == 422
    assert "department" in wrong.text

    fed.clock.set(cst(12, 7, 9))  # past the deadline, unresolved
    [first_open] = [
        c for c in (await client.get("/api/v1/supervision/complaints", headers=OPERATOR)).json() if c["department"] == "fire"
    ]
    assert first_open["overdue"] is True
    path = f"/api/v1/supervision/complaints/{complaint['complaint_id']}/resolution"
    assert (await client.post(path, json={"resolution": "已督促"}, headers=OPERATOR)).status_code == 403
    resolved = (await client.post(path, json={"resolution": "已督促消防加快检测"}, headers=SUPERVISOR)).json()
    assert (resolved["resolved_by"], resolved["overdue"]) == ("SV-01", True)
    assert (await client.post(path, json={"resolution": "again"}, headers=SUPERVISOR)).status_code == 409
    departments = (await client.get("/api/v1/supervision/departments", headers=OPERATOR)).json()
    assert next(d for d in departments if d["department"] == "fire")["complaints_open"] == 0


async def test_the_departments_view_shows_work_waiting_and_raises_the_alarm_when_it_waits_too_long(
    fed: World, client: httpx.AsyncClient
) -> None:
    rows = {d["department"]: d for d in (await client.get("/api/v1/supervision/departments", headers=OPERATOR)).json()}
    assert rows["fire"]["department_name"] == "消防救援支队"
    assert rows["fire"]["open_parts"] == 1
    assert (rows["tax"]["waiting_work"], rows["tax"]["alarm"]) == (0, False)  # its one case's work was acted on
    market = rows["market"]  # LB2's pre-review and handling, never taken, for days
    assert (market["waiting_work"], market["alarm"], market["oldest_untaken_since"]) == (
        2,
        True,
        SUBMITTED.astimezone(UTC).isoformat(),
    )


async def test_only_console_roles_read_the_console(client: httpx.AsyncClient) -> None:
    config = (await client.get("/console/config.json")).json()  # before login: where to log in
    assert (config["client_id"], config["departments"]["fire"]) == ("lianban-console", "消防救援支队")
    department = bearer(Role.DEPARTMENT, "fire-01", department="fire")
    assert (await client.get("/api/v1/supervision/overview", headers=department)).status_code == 403
    assert (await client.get("/api/v1/supervision/overview")).status_code == 401
