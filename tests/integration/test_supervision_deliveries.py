"""送达异常: work a department's side has not taken in time is alerted, and the alert clears itself
when the work is taken; each bridge's report is kept for the bridges view."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from services.supervision.adapters.orm import BridgeState, TimelineEntry
from services.supervision.service_layer.statistics import statistics
from shared.contracts import (
    Accept,
    BridgeReport,
    CaseNotAccepted,
    CloudEvent,
    DeliveryAlert,
    RefusalReason,
    WaitingWork,
    WorkReceived,
)
from tests.integration.supervision_world import CALENDAR, TOPICS, UNDELIVERED_AFTER, World, acted, cst, submitted, world
from tests.servers import MakeSessions

SUBMITTED = cst(11, 23, 9)


async def delivery_alerts(w: World) -> list[DeliveryAlert]:
    return [e.payload() for _, e in await w.outbox() if isinstance(e.payload(), DeliveryAlert)]  # type: ignore[misc]


async def check_at(w: World, moment: datetime) -> int:
    w.clock.set(moment)
    return await w.deliveries.check_once()


def received(case_id: str, department: str, work: str, at: datetime) -> WorkReceived:
    return WorkReceived(
        case_id=case_id, work_order_id=f"{case_id}-{department}", department=department, work=work, received_at=at
    )


async def test_work_not_taken_in_time_is_alerted_once_and_cleared_when_taken(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    await w.feed(submitted("LB1", {"market": 5, "fire": 5}, SUBMITTED))
    await w.feed(acted("LB1", "market", Accept(), SUBMITTED + timedelta(minutes=5)))  # an action shows it was taken

    assert await check_at(w, SUBMITTED + UNDELIVERED_AFTER - timedelta(seconds=1)) == 0
    assert await check_at(w, SUBMITTED + UNDELIVERED_AFTER + timedelta(seconds=1)) == 1
    assert await check_at(w, SUBMITTED + UNDELIVERED_AFTER + timedelta(hours=1)) == 0  # raised once
    [raised] = await delivery_alerts(w)
    assert (raised.department, raised.work_order_id, raised.work, raised.cleared_at) == ("fire", "LB1-fire", "review1", None)
    assert raised.message.startswith("【送达异常】办件 LB1 的第1轮预审工作已发送 2.0 小时，消防救援支队 尚未签收")

    await w.feed(received("LB1", "fire", "review1", SUBMITTED + timedelta(hours=3)), topic=TOPICS.acknowledgements("fire"))
    assert await check_at(w, SUBMITTED + timedelta(hours=3, seconds=1)) == 1
    _, cleared = await delivery_alerts(w)
    assert (cleared.alert_id, cleared.cleared_at) == (raised.alert_id, SUBMITTED + timedelta(hours=3, seconds=1))
    assert cleared.message.startswith("【送达恢复】")
    async with w.sessions() as session:
        shown = [e.event_type for e in await session.scalars(select(TimelineEntry).where(TimelineEntry.case_id == "LB1"))]
        figures = await statistics(session, CALENDAR, w.clock.now(), department="fire")
    assert shown.count(DeliveryAlert.event_type) == 2  # raised and cleared, on the case's timeline
    assert shown.count(WorkReceived.event_type) == 1
    assert figures.undelivered == 1


async def test_a_receipt_counts_only_on_the_departments_own_topic(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    await w.feed(submitted("LB2", {"fire": 5}, SUBMITTED))
    await w.feed(received("LB2", "fire", "review1", SUBMITTED), topic=TOPICS.acknowledgements("tax"))  # tax speaking for fire

    assert await check_at(w, SUBMITTED + UNDELIVERED_AFTER + timedelta(seconds=1)) == 1


async def test_work_of_a_case_that_ended_is_no_longer_waited_for(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    await w.feed(submitted("LB3", {"fire": 5}, SUBMITTED))
    reason = RefusalReason(department="market", reason="不属于受理范围", legal_basis="")
    await w.feed(CaseNotAccepted(case_id="LB3", reasons=[reason], decided_at=SUBMITTED + timedelta(minutes=1)))

    assert await check_at(w, SUBMITTED + UNDELIVERED_AFTER * 2) == 0


async def test_the_latest_bridge_report_is_kept_and_an_older_one_redelivered_changes_nothing(make_sessions: MakeSessions) -> None:
    w = await world(make_sessions)
    since = SUBMITTED - timedelta(hours=1)
    waiting = [WaitingWork(case_id="LB9", work_order_id="LB9-fire", work="review1", since=since)]

    def report(minutes: int, count: int) -> BridgeReport:
        at = SUBMITTED + timedelta(minutes=minutes)
        return BridgeReport(
            department="fire",
            bridge="ferry",
            reported_at=at,
            waiting=count,
            oldest_waiting=waiting if count else [],
            last_contact_at=at - timedelta(minutes=1),
            detail={"expecting": 7, "held": [8, 9]},
        )

    newer, older = report(10, 1), report(5, 0)
    await w.feed(newer, subject="fire", topic=TOPICS.bridge("fire"))
    await w.redeliver([CloudEvent.wrap(older, source="/test/adapter", subject="fire")], TOPICS.bridge("fire"))
    await w.feed(report(20, 3).model_copy(update={"department": "fire"}), subject="tax", topic=TOPICS.bridge("tax"))  # not tax's

    async with w.sessions() as session:
        [state] = await session.scalars(select(BridgeState))
        timeline = list(await session.scalars(select(TimelineEntry)))
    assert (state.department, state.bridge, state.waiting, state.oldest_waiting_since) == ("fire", "ferry", 1, since)
    assert state.reported_at == newer.reported_at
    assert state.report["detail"] == {"expecting": 7, "held": [8, 9]}
    assert timeline == []  # a bridge's report is no event of any case
