"""Supervision counts time the way the rules count it, warns, urges, records shirking, and lets
silence mean yes; a restart neither loses nor repeats a step."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.supervision.adapters.orm import CaseFile, ViolationRecord
from services.supervision.domain.ladder import Policy
from services.supervision.service_layer.scan import LadderScanner, take_due
from shared.contracts import Accept, Approve, DecideExtension, DeemedApprovalIssued, RequestExtension, Resume, Suspend
from shared.contracts import SuspensionKind as Kind
from shared.workdays import CHINA
from tests.integration.supervision_world import accepted, acted, cst, submitted, world
from tests.servers import MakeSessions


async def test_a_silent_department_is_reminded_carded_urged_recorded_and_deemed_to_approve(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    case = submitted("LB1", {"market": 20, "tax": 5}, cst(11, 23), silence=("tax",))
    await w.feed(case, accepted(case, cst(11, 23)))
    assert (await w.part("LB1-tax")).deadline == cst(11, 30, 17)  # 5 working days, end of the working day

    async def kinds_at(moment: datetime) -> list[str]:
        before = len(await w.alerts("LB1-tax"))
        await w.at(moment)
        return [a.kind for a in (await w.alerts("LB1-tax"))[before:]]

    assert await kinds_at(cst(11, 27, 16)) == []
    assert await kinds_at(cst(11, 27, 17, 30)) == ["reminder"]  # one working day before
    assert await kinds_at(cst(11, 30, 17)) == []  # due at the end of the day, not yet overdue
    assert await kinds_at(cst(11, 30, 17, 1)) == ["urge", "yellow_card"]
    assert await kinds_at(cst(12, 1, 17, 1)) == ["urge"]
    assert await kinds_at(cst(12, 2, 17, 1)) == ["shirking", "urge"]  # the third unanswered urge
    assert await kinds_at(cst(12, 3, 17, 1)) == ["red_card", "urge"]  # three working days overdue
    assert await kinds_at(cst(12, 4, 17, 2)) == ["urge"]
    assert await kinds_at(cst(12, 7, 17, 1)) == ["deemed_approval"]  # 5 working days after the first urge

    shirking = next(a for a in await w.alerts("LB1-tax") if a.kind == "shirking")
    assert len(shirking.evidence["urged_at"]) == 3
    deemed = [e.payload() for topic, e in await w.outbox() if topic == "lianban.test.supervision.deemed-approvals"]
    [approval] = deemed
    assert isinstance(approval, DeemedApprovalIssued)  # believed because of its topic, which only supervision writes
    assert approval.action.kind == "deemed_approve"
    assert approval.action.deadline == cst(11, 30, 17)
    assert approval.action.urged_at[0] == cst(11, 30, 17, 1)
    assert await kinds_at(cst(12, 10)) == []  # nothing after the deemed approval
    assert (await w.alerts("LB1-market")) == []  # market's deadline (12-21) is weeks away


async def test_every_card_is_also_a_notice_on_the_departments_topic(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    case = submitted("LB2", {"fire": 1}, cst(11, 23))
    await w.feed(case, accepted(case, cst(11, 23)))
    await w.at(cst(11, 25))  # overdue: a yellow card and the first urge (too late for the reminder)
    assert sorted(a.kind for a in await w.alerts()) == ["urge", "yellow_card"]
    topics = [t for t, e in await w.outbox()]
    assert topics.count("lianban.test.work.fire") == topics.count("lianban.test.supervision.alerts") == 2
    notices = [e.data["message"] for t, e in await w.outbox() if t == "lianban.test.work.fire"]
    assert all(m.split("】")[1].startswith("消防救援支队办理的") for m in notices)  # named as staff know it, not "fire"


async def test_an_answer_stops_the_ladder_and_a_decision_stops_the_clock(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    case = submitted("LB3", {"tax": 1}, cst(11, 23), silence=("tax",))
    await w.feed(case, accepted(case, cst(11, 23)))
    await w.at(cst(11, 24, 17, 1))  # overdue: yellow card and the first urge
    await w.at(cst(11, 25, 17, 1))  # second urge
    await w.feed(acted("LB3", "tax", Approve(document_number="T-1"), cst(11, 25, 18)))
    await w.at(cst(12, 10))
    assert [a.kind for a in await w.alerts("LB3-tax")].count("urge") == 2
    assert (await w.part("LB3-tax")).decided_at == cst(11, 25, 18)


async def test_three_unanswered_urges_from_the_lead_make_a_shirking_record_before_any_deadline(
    make_sessions: MakeSessions,
) -> None:
    w = await world(make_sessions, Policy(shirk_after_urges=3))
    case = submitted("LB4", {"fire": 10}, cst(11, 23))
    await w.feed(case, accepted(case, cst(11, 23)))
    part = await w.part("LB4-fire")
    async with w.sessions() as session, session.begin():
        part = await session.get(type(part), "LB4-fire")  # type: ignore[assignment]
        part.urges = [cst(11, 24).isoformat(), cst(11, 25).isoformat(), cst(11, 26).isoformat()]
        part.next_check_at = cst(11, 26)
    await w.at(cst(11, 26, 10))
    assert [a.kind for a in await w.alerts("LB4-fire")] == ["shirking"]


async def test_a_suspension_over_the_national_day_week_moves_the_deadline_as_the_calendar_says(
    make_sessions: MakeSessions,
) -> None:
    w = await world(make_sessions)
    case = submitted("LB5", {"planning": 5}, cst(9, 28))
    await w.feed(case, accepted(case, cst(9, 28)))
    # 9-29, 9-30, (holiday 10-1..10-7), 10-8, 10-9, and the make-up Saturday 10-10
    assert (await w.part("LB5-planning")).deadline == cst(10, 10, 17)

    await w.feed(
        acted(
            "LB5",
            "planning",
            Suspend(suspension_kind=Kind.EXPERT_REVIEW, applicant_notified_on=date(2026, 9, 29)),
            cst(9, 29, 10),
        )
    )
    assert (await w.part("LB5-planning")).deadline is None  # the clock stands still
    await w.feed(acted("LB5", "planning", Resume(), cst(10, 9, 10)))
    part = await w.part("LB5-planning")
    assert part.suspended_days == 3  # 9-30, 10-8 and 10-9 did not count
    assert part.deadline == cst(10, 14, 17)

    await w.feed(
        acted("LB5", "planning", RequestExtension(days=2, reason="专家意见分歧"), cst(10, 12)),
        acted("LB5", "planning", DecideExtension(approved=True, approver_name="周明", approver_title="局长"), cst(10, 12, 11)),
    )
    assert (await w.part("LB5-planning")).deadline == cst(10, 16, 17)

    await w.feed(
        acted("LB5", "planning", RequestExtension(days=3, reason="再延"), cst(10, 13)),
        acted("LB5", "planning", DecideExtension(approved=False, approver_name="周明", approver_title="局长"), cst(10, 13, 11)),
    )
    assert (await w.part("LB5-planning")).deadline == cst(10, 16, 17)  # a refused extension moves nothing
    async with w.sessions() as session:
        file = await session.get(CaseFile, "LB5")
    assert file is not None
    assert file.deadline == cst(10, 16, 17)  # the case's 10 days, or its latest part, whichever is later


async def test_a_restart_loses_no_due_step_and_repeats_none(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions, batch_size=2)
    for n in range(5):
        case = submitted(f"LBR{n}", {"tax": 1}, cst(11, 23))
        await w.feed(case, accepted(case, cst(11, 23)))
    w.clock.set(cst(11, 23, 17, 30))  # one working day before the deadlines: reminders are due
    assert await w.scanner.scan_once() == 2  # a bounded batch; then the process "dies"
    restarted = await world(make_sessions, batch_size=2)  # a new process on the same database
    await restarted.at(cst(11, 23, 17, 30))
    reminders = [a.work_order_id for a in await w.alerts() if a.kind == "reminder"]
    assert sorted(reminders) == [f"LBR{n}-tax" for n in range(5)]


async def test_pre_review_answers_are_timeline_only(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    case = submitted("LB6", {"tax": 1}, cst(11, 23))
    await w.feed(case, acted("LB6", "tax", Accept(), cst(11, 23, 10)))
    assert (await w.part("LB6-tax")).started_at is None


async def test_a_year_the_calendar_does_not_know_waits_visibly_then_is_scheduled(
    make_sessions: MakeSessions, tmp_path: Path
) -> None:
    import json

    from services.supervision.domain.deadlines import ClockState, clock_state
    from services.supervision.service_layer.clocks import Clocks
    from shared.workdays import WorkingCalendar

    w = await world(make_sessions)
    start = datetime(2031, 1, 6, 9, tzinfo=CHINA)  # a Monday of a year chinesecalendar does not know
    case = submitted("LB7", {"tax": 2}, start)
    await w.feed(case, accepted(case, start))  # applied, not dead-lettered
    part = await w.part("LB7-tax")
    assert part.deadline is None
    assert "no working-day schedule for 2031" in (part.calendar_error or "")
    assert clock_state(part.started_at, None, False, None, start, part.calendar_error) is ClockState.UNSCHEDULED

    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"years": {"2031": {"holidays": ["2031-01-07"], "workdays": []}}}))
    assert await w.scanner.reschedule_waiting(Clocks(WorkingCalendar(overrides), Policy())) == 1
    part = await w.part("LB7-tax")
    assert part.calendar_error is None
    assert part.deadline == datetime(2031, 1, 9, 17, tzinfo=CHINA)  # 1-8 and 1-9; the 7th is a holiday


async def test_an_approved_extension_after_a_yellow_card_starts_a_fresh_ladder(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    case = submitted("LB8", {"fire": 1}, cst(11, 23))
    await w.feed(case, accepted(case, cst(11, 23)))
    await w.at(cst(11, 24, 17, 1))  # overdue: yellow card 1 and the first urge
    await w.feed(
        acted("LB8", "fire", RequestExtension(days=2, reason="复查"), cst(11, 24, 18)),
        acted("LB8", "fire", DecideExtension(approved=True, approver_name="李强", approver_title="支队长"), cst(11, 24, 18, 5)),
    )
    assert (await w.part("LB8-fire")).deadline == cst(11, 26, 17)
    await w.at(cst(11, 26, 17, 1))  # the new deadline passes too: a second yellow card
    other = submitted("LB9", {"tax": 1}, cst(11, 26))
    await w.feed(other, accepted(other, cst(11, 26)))
    await w.at(cst(11, 27, 17, 1))  # scanning goes on for everybody
    yellows = [(a.work_order_id, a.sequence) for a in await w.alerts() if a.kind == "yellow_card"]
    assert yellows == [("LB8-fire", 1), ("LB8-fire", 2), ("LB9-tax", 1)]


async def test_urging_before_the_deadline_does_not_start_the_silence(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    case = submitted("LB10", {"tax": 5}, cst(11, 23), silence=("tax",))
    await w.feed(case, accepted(case, cst(11, 23)))
    async with w.sessions() as session, session.begin():  # the lead urged early, on day 1
        part = await session.get(type(await w.part("LB10-tax")), "LB10-tax")
        assert part is not None
        part.urges = [cst(11, 24).isoformat()]
    await w.at(cst(11, 30, 17, 1))  # the deadline passes: no deemed approval yet
    await w.at(cst(12, 4, 17, 1))
    assert "deemed_approval" not in [a.kind for a in await w.alerts("LB10-tax")]
    await w.at(cst(12, 7, 17, 2))  # five working days after the first urging after the deadline
    assert "deemed_approval" in [a.kind for a in await w.alerts("LB10-tax")]
    [asked] = [e.payload() for t, e in await w.outbox() if t == "lianban.test.supervision.deemed-approvals"]
    assert all(u > cst(11, 30, 17) for u in asked.action.urged_at)  # type: ignore[attr-defined]  # intake checks this


async def test_a_refused_deemed_approval_lets_the_ladder_go_on(make_sessions: MakeSessions) -> None:
    from shared.contracts import ActionRefused, RefusalRule

    w = await world(make_sessions)
    case = submitted("LB11", {"tax": 1}, cst(11, 23), silence=("tax",))
    await w.feed(case, accepted(case, cst(11, 23)))
    await w.at(cst(11, 24, 17, 1))
    await w.at(cst(12, 1, 17, 2))  # five working days after the first urging: deemed approval asked for
    assert (await w.part("LB11-tax")).deemed
    await w.feed(
        ActionRefused(
            case_id="LB11",
            work_order_id="LB11-tax",
            department="tax",
            staff_id="supervision",
            action_kind="deemed_approve",
            action={},
            rule=RefusalRule.OUT_OF_ORDER,
            reason="suspended",
            refused_at=cst(12, 1, 17, 3),
        )
    )
    part = await w.part("LB11-tax")
    assert not part.deemed
    assert part.next_check_at == cst(12, 2, 17, 3)
    async with w.sessions() as session:
        assert list(await session.scalars(select(ViolationRecord))) == []  # supervision's own action: no violation


async def test_the_yellow_card_is_due_the_moment_after_the_deadline_and_the_scanner_wakes_for_it(
    make_sessions: MakeSessions,
) -> None:
    w = await world(make_sessions)
    case = submitted("LB20", {"tax": 1}, cst(11, 23))
    await w.feed(case, accepted(case, cst(11, 23)))
    deadline = (await w.part("LB20-tax")).deadline
    assert deadline is not None
    await w.at(deadline - timedelta(hours=2))
    assert [a.kind for a in await w.alerts()] == ["reminder"]
    w.clock.set(deadline - timedelta(milliseconds=250))
    assert await w.scanner.until_next_check() == pytest.approx(0.25, abs=0.001)  # sleeps just that long
    w.clock.set(deadline - timedelta(hours=1))
    assert await w.scanner.until_next_check() == 1  # never longer than its interval: new parts may come
    await w.at(deadline)
    assert [a.kind for a in await w.alerts()] == ["reminder"]
    await w.at(deadline + timedelta(milliseconds=1))
    assert [a.kind for a in await w.alerts()] == ["reminder", "urge", "yellow_card"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_replicas_scanning_at_once_take_a_department_each_and_card_every_part_once(make_sessions: MakeSessions) -> None:
    """Replicas of supervision scan one due-date index (PostgreSQL): a batch takes one department's due parts and
    its cards, which the other replicas then leave alone, so a red card follows each department's third yellow card
    exactly, whoever issues them."""
    w = await world(make_sessions)
    departments = ("fire", "tax", "market", "planning")
    cases = [submitted(f"LB3{n:02d}", {departments[n % 4]: 1}, cst(11, 23)) for n in range(40)]
    await w.feed(*(event for case in cases for event in (case, accepted(case, cst(11, 23)))))
    w.clock.set(cst(11, 25))  # all 40 overdue at once
    s = w.scanner
    other = LadderScanner(s.sessions, s.desk, s.calendar, s.policy, s.clock, lambda: None, batch_size=4, interval=1)

    async with w.sessions() as held, held.begin():  # a replica in the middle of a batch
        taken = await take_due(held, s.clock.now(), 100)
        assert len(taken) == 10  # all of one department's
        assert len({p.department for p in taken}) == 1
        looked = 0
        while n := await other.scan_once():  # meanwhile, another replica scans
            looked += n
        assert looked == 30  # the other departments' parts
    assert sorted({a.department for a in await w.alerts()}) == sorted(set(departments) - {taken[0].department})

    async def replica(scanner: LadderScanner) -> int:
        looked = 0
        while n := await scanner.scan_once(limit=4):
            looked += n
        return looked

    w.clock.set(cst(11, 25, 10))  # the held batch ended without a card; the two scan the rest at once
    assert sum(await asyncio.gather(replica(s), replica(other))) == 10
    alerts = await w.alerts()
    for kind in ("yellow_card", "urge"):
        assert sorted(a.work_order_id for a in alerts if a.kind == kind) == sorted(c.parts[0].work_order_id for c in cases)
    reds = Counter(a.department for a in alerts if a.kind == "red_card")
    assert reds == dict.fromkeys(departments, 8)  # from each department's third yellow card on
