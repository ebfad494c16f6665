"""Violations are recorded once from crafted event sequences; statistics equal the figures by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.supervision.adapters.orm import ViolationRecord
from services.supervision.domain.deadlines import ClockState, clock_state
from services.supervision.service_layer.statistics import ranking, statistics
from shared.contracts import (
    ActionRefused,
    Applicant,
    Approve,
    CaseConcluded,
    CaseEvaluated,
    Outcome,
    PartActionRecorded,
    RefusalRule,
)
from tests.integration.supervision_world import CALENDAR, World, accepted, acted, cst, submitted, world
from tests.servers import MakeSessions


def refused(case_id: str, department: str | None, kind: str, rule: RefusalRule) -> ActionRefused:
    return ActionRefused(
        case_id=case_id,
        work_order_id=f"{case_id}-{department}",
        department=department,
        staff_id="x",
        action_kind=kind,
        action={"kind": kind},
        rule=rule,
        reason="refused",
        refused_at=datetime(2026, 11, 23, 2, tzinfo=UTC),
    )


async def violations(w: World) -> list[tuple[str, str]]:
    async with w.sessions() as session:
        return [(v.kind, v.case_id) for v in await session.scalars(select(ViolationRecord).order_by(ViolationRecord.id))]


async def test_each_violation_is_recorded_once(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    first = submitted("LB1", {"market": 3, "tax": 1}, cst(11, 23))
    twin = submitted("LB2", {"market": 3, "tax": 1}, cst(11, 23, 10))  # same applicant, same matter
    crafted = await w.feed(
        first,
        twin,
        accepted(first, cst(11, 23, 11)),
        accepted(twin, cst(11, 23, 12)),
        refused("LB3", "tax", "approve", RefusalRule.NOT_ACCEPTED_YET),
        refused("LB3", "tax", "resume", RefusalRule.NOT_ACCEPTED_YET),
        refused("LB1", "fire", "accept", RefusalRule.NO_WORK_ORDER),
        refused("LB1", "tax", "deny", RefusalRule.MISSING_LEGAL_BASIS),
        refused("LB1", "tax", "resume", RefusalRule.OUT_OF_ORDER),
    )
    await w.redeliver(crafted)  # Kafka delivers again after a crash: nothing is counted twice
    assert await violations(w) == [
        ("double_acceptance", "LB2"),
        ("decision_without_acceptance", "LB3"),
        ("step_out_of_order", "LB3"),
        ("no_work_order", "LB1"),
        ("missing_legal_basis", "LB1"),
        ("step_out_of_order", "LB1"),
    ]


async def test_a_new_application_after_the_first_concluded_is_no_double_acceptance(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    first = submitted("LB1", {"tax": 1}, cst(11, 23))
    await w.feed(
        first,
        accepted(first, cst(11, 23)),
        acted("LB1", "tax", Approve(document_number="T"), cst(11, 23, 10)),
        CaseConcluded(case_id="LB1", matter_name="m", outcome=Outcome.APPROVED, parts=[], concluded_at=cst(11, 23, 10)),
    )
    again = submitted("LB2", {"tax": 1}, cst(11, 24))
    await w.feed(again, accepted(again, cst(11, 24)))
    assert await violations(w) == []


async def test_statistics_for_seeded_cases_equal_the_figures_by_hand(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    other = Applicant(kind="person", name="张三", id_number="330102199001010011")
    a = submitted("LBA", {"market": 3, "tax": 1}, cst(11, 23))  # both on time
    b = submitted("LBB", {"market": 3, "tax": 1}, cst(11, 23), applicant=other)  # tax late
    c = submitted("LBC", {"market": 3, "fire": 2}, cst(11, 23), matter="JM-OTHER", applicant=other)  # never accepted
    await w.feed(a, b, c, accepted(a, cst(11, 23)), accepted(b, cst(11, 23)))
    # deadlines: market 11-26 17:00, tax 11-24 17:00
    await w.feed(
        acted("LBA", "market", Approve(document_number="M"), cst(11, 25, 10)),  # 2 working days used
        acted("LBA", "tax", Approve(document_number="T"), cst(11, 24, 10)),  # 1
        acted("LBB", "market", Approve(document_number="M"), cst(11, 26, 16)),
    )  # 3
    await w.at(cst(11, 25, 17, 30))  # LBB's tax part is overdue: a yellow card and an urge
    await w.feed(
        acted("LBB", "tax", Approve(document_number="T"), cst(11, 27, 10)),  # 4, late
        CaseConcluded(case_id="LBA", matter_name="m", outcome=Outcome.APPROVED, parts=[], concluded_at=cst(11, 25)),
        CaseConcluded(case_id="LBB", matter_name="m", outcome=Outcome.APPROVED, parts=[], concluded_at=cst(11, 27)),
        CaseEvaluated(case_id="LBA", score=5, evaluated_at=cst(11, 26)),
        CaseEvaluated(case_id="LBB", score=2, reason="慢", evaluated_at=cst(11, 28)),
    )
    now = cst(11, 30)
    async with w.sessions() as session:
        everything = await statistics(session, CALENDAR, now)
        tax = await statistics(session, CALENDAR, now, department="tax")
        rest = await statistics(
            session, CALENDAR, now, matter="JM-REST-001", since=cst(11, 23) - timedelta(hours=1), until=cst(11, 24)
        )
        ranked = await ranking(session, CALENDAR, now)
    assert (everything.received, everything.accepted, everything.completed) == (3, 2, 2)
    assert (everything.decided_parts, everything.on_time_parts, everything.on_time_rate) == (4, 3, 0.75)
    assert everything.overdue_parts == 1
    assert everything.mean_working_days == 2.5  # (2 + 1 + 3 + 4) / 4
    assert everything.mean_evaluation == 3.5
    assert (tax.received, tax.on_time_rate, tax.mean_working_days) == (2, 0.5, 2.5)
    assert tax.cards["yellow"] == 1
    assert tax.urges == 1
    assert rest.received == 2
    assert [r[0] for r in ranked] == ["market", "tax", "fire"]  # fire has no decided part yet


async def test_lateness_counts_from_the_signed_time_and_a_doubtful_signed_time_is_flagged(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    case = submitted("LB1", {"market": 3, "fire": 3, "tax": 3}, cst(11, 23))
    await w.feed(case, accepted(case, cst(11, 23)))
    deadline = (await w.part("LB1-tax")).deadline
    assert deadline is not None
    hour = timedelta(hours=1)

    def arrived(department: str, signed: datetime, received: datetime) -> PartActionRecorded:
        return acted("LB1", department, Approve(document_number="D-1"), signed).model_copy(update={"received_at": received})

    await w.feed(
        arrived("tax", deadline - hour, deadline + hour),  # signed in time, two hours on the way: on time
        arrived("fire", deadline - 80 * hour, deadline - 2 * hour),  # signed 78 hours before it arrived: counted, flagged
        arrived("market", deadline + 3 * hour, deadline + hour),  # signed "in the future": counted at receipt, flagged
    )
    tax, fire, market = [await w.part(f"LB1-{d}") for d in ("tax", "fire", "market")]
    assert (tax.decided_at, tax.decision_received_at) == (deadline - hour, deadline + hour)
    assert clock_state(tax.started_at, tax.deadline, False, tax.decided_at, deadline) is ClockState.DONE_ON_TIME
    assert fire.decided_at == deadline - 80 * hour
    assert market.decided_at == deadline + hour
    assert clock_state(market.started_at, market.deadline, False, market.decided_at, deadline) is ClockState.DONE_LATE
    async with w.sessions() as session:
        flagged = await session.scalars(select(ViolationRecord).where(ViolationRecord.kind == "doubtful_time"))
        details = {v.department: v.detail for v in flagged}
    assert set(details) == {"fire", "market"}
    assert "传输用时 78.0 小时，超过 24 小时的上限" in details["fire"]
    assert "签署方时钟超前" in details["market"]
