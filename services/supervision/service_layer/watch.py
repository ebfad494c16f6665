"""Recording every event on the case timeline and keeping each part's clock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import PartClock, TimelineEntry
from shared.contracts import DECISIONS, CaseAccepted, CaseSubmitted, EventData, PartActionRecorded
from shared.messaging.consumer import Delivery
from shared.workdays import WorkingCalendar


class Watcher:
    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar

    async def apply(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        case_ids = {d.event.subject for d in deliveries}
        clocks = {c.work_order_id: c for c in await session.scalars(
            select(PartClock).where(PartClock.case_id.in_(case_ids)))}
        for d in deliveries:
            session.add(TimelineEntry(case_id=d.event.subject, event_id=d.event.id, event_type=d.event.type,
                                      occurred_at=d.event.time, department=getattr(d.data, "department", None),
                                      summary=summary(d.data)))
            if isinstance(d.data, CaseSubmitted):
                for part in d.data.parts:
                    if part.work_order_id not in clocks:
                        clocks[part.work_order_id] = clock = PartClock(
                            work_order_id=part.work_order_id, case_id=d.data.case_id, department=part.department,
                            part_code=part.part_code, time_limit_days=part.time_limit_days)
                        session.add(clock)
            elif isinstance(d.data, CaseAccepted):
                for part in d.data.parts:  # the handling clocks start at acceptance
                    clock = clocks[part.work_order_id]
                    clock.started_at = d.data.accepted_at
                    clock.deadline = self.calendar.deadline(d.data.accepted_at, part.time_limit_days)
            elif isinstance(d.data, PartActionRecorded) and d.data.action.kind in DECISIONS:
                decided = clocks.get(d.data.work_order_id)
                if decided is not None and decided.decided_at is None:
                    decided.decided_at = d.data.acted_at


def summary(data: EventData) -> dict[str, Any]:
    """What the timeline shows of an event: who acted and what they decided, without the bulk."""
    if isinstance(data, CaseSubmitted):
        return {"matter_code": data.matter_code, "parts": [p.department for p in data.parts], "staff_id": data.staff_id}
    if isinstance(data, PartActionRecorded):
        return {"staff_id": data.staff_id, "action": data.action.model_dump(mode="json"),
                "part_state": data.part_state, "case_state": data.case_state}
    dumped = data.model_dump(mode="json", exclude={"applicant", "materials", "parts", "notice", "message"})
    return {k: v for k, v in dumped.items() if k != "case_id"}
