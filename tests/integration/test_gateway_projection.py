"""The gateway follows a case for the applicant and replies once, when the case is concluded."""

from __future__ import annotations

from sqlalchemy import select

from services.gateway.adapters.orm import SCHEMA, ApplicantView
from services.gateway.entrypoints.consumers import handlers
from services.gateway.service_layer.project import Projector
from shared.contracts import (
    Accept,
    CaseConcluded,
    CaseSupplemented,
    CloudEvent,
    DepartmentAction,
    NoticeItem,
    Outcome,
    PartActionRecorded,
    PartOutcome,
    RequestSupplement,
    SupplementItem,
    SupplementRequested,
    UnifiedReply,
)
from shared.messaging.consumer import BatchConsumer, by_topic
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from tests.integration.supervision_world import NoDeadLetters, World, cst, submitted
from tests.servers import MakeSessions


async def gateway(make_sessions: MakeSessions) -> World:
    sessions = await make_sessions(SCHEMA)
    topics = Topics("test")
    consumed = by_topic(handlers(topics, Projector(Outbox("/test/gateway", topics))))
    consumer = BatchConsumer("gateway", sessions, NoDeadLetters(), consumed)  # type: ignore[arg-type]
    return World(sessions, None, consumer, None, None)  # type: ignore[arg-type]


def recorded(case_id: str, department: str, action: DepartmentAction, part_state: str, case_state: str) -> PartActionRecorded:
    return PartActionRecorded(
        case_id=case_id,
        work_order_id=f"{case_id}-{department}",
        department=department,
        staff_id="s",
        acted_at=cst(11, 23, 10),
        action=action,
        part_state=part_state,
        case_state=case_state,
    )


async def view(w: World, case_id: str) -> ApplicantView:
    async with w.sessions() as session:
        found = await session.get(ApplicantView, case_id)
        assert found is not None
        return found


async def test_the_applicant_sees_the_notice_then_the_re_review_then_one_reply(make_sessions: MakeSessions) -> None:
    w = await gateway(make_sessions)
    case = submitted("LB1", {"market": 3, "fire": 10}, cst(11, 23))
    ask = RequestSupplement(items=[SupplementItem(material="场所消防安全制度", reason="缺疏散预案")])
    notice = SupplementRequested(
        case_id="LB1",
        round=1,
        items=[NoticeItem(department="fire", material="场所消防安全制度", reason="缺疏散预案")],
        notice="一次性告知……",
        requested_at=cst(11, 23, 11),
    )
    await w.feed(
        case,
        recorded("LB1", "market", Accept(), "pre_accepted", "pre_review"),
        recorded("LB1", "fire", ask, "supplement_requested", "awaiting_supplement"),
        notice,
    )
    waiting = await view(w, "LB1")
    assert waiting.state == "awaiting_supplement"
    assert waiting.notice is not None
    assert waiting.notice["notice"] == "一次性告知……"

    await w.feed(
        CaseSupplemented(
            case_id="LB1",
            round=2,
            materials={"fire": {"场所消防安全制度": "doc://v2"}},
            staff_id="S-0107",
            supplemented_at=cst(11, 24),
        )
    )
    again = await view(w, "LB1")
    assert again.notice is None
    assert {p["department"]: p["state"] for p in again.parts} == {"market": "pre_accepted", "fire": "forwarded"}

    concluded = CaseConcluded(
        case_id="LB1",
        matter_name="餐饮店开业联办",
        outcome=Outcome.APPROVED,
        concluded_at=cst(11, 25),
        parts=[
            PartOutcome(department=d, part_code=d, part_name=d, outcome=Outcome.APPROVED, document_number=f"{d}-1")
            for d in ("market", "fire")
        ],
    )
    events = await w.feed(concluded)
    await w.redeliver(events)  # delivered twice: still one reply
    async with w.sessions() as session:
        rows = list(await session.scalars(select(OutboxRow)))
    assert [r.topic for r in rows] == ["lianban.test.case.replies"]
    assert (await view(w, "LB1")).reply is not None
    reply = CloudEvent.from_bytes(rows[0].payload).payload()
    assert isinstance(reply, UnifiedReply)
    assert "market-1" in reply.message
