"""Recording every event on the case timeline and keeping each part's clock."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import PartClock, TimelineEntry
from shared.contracts import CaseSubmitted, DepartmentResult, OverdueAlert, UnifiedReply
from shared.contracts.envelope import EventData
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
                                      occurred_at=d.event.time, department=_department(d.data),
                                      summary=_summary(d.data)))
            if isinstance(d.data, CaseSubmitted):
                self._start_clocks(session, d.data, clocks)
            elif isinstance(d.data, DepartmentResult):
                _stop_clock(session, d.data, clocks)

    def _start_clocks(self, session: AsyncSession, event: CaseSubmitted, clocks: dict[str, PartClock]) -> None:
        for part in event.parts:
            clock = clocks.get(part.work_order_id)
            if clock is None:
                clocks[part.work_order_id] = clock = PartClock(
                    work_order_id=part.work_order_id, case_id=event.case_id,
                    department=part.department, part_code=part.part_code)
                session.add(clock)
            clock.time_limit_days = part.time_limit_days
            clock.started_at = event.submitted_at
            clock.deadline = self.calendar.deadline(event.submitted_at, part.time_limit_days)


def _stop_clock(session: AsyncSession, event: DepartmentResult, clocks: dict[str, PartClock]) -> None:
    clock = clocks.get(event.work_order_id)
    if clock is None:  # the result overtook the submission on another topic
        clocks[event.work_order_id] = clock = PartClock(
            work_order_id=event.work_order_id, case_id=event.case_id,
            department=event.department, part_code=event.part_code)
        session.add(clock)
    if clock.decided_at is None:
        clock.decided_at = event.decided_at


def _department(data: EventData) -> str | None:
    if isinstance(data, CaseSubmitted):
        return data.lead_department
    return getattr(data, "department", None)


def _summary(data: EventData) -> dict[str, object]:
    if isinstance(data, CaseSubmitted):
        return {"matter_code": data.matter_code, "parts": [p.department for p in data.parts]}
    if isinstance(data, DepartmentResult):
        return {"outcome": data.outcome.value, "document_number": data.document_number,
                "legal_basis": data.legal_basis, "reason": data.reason, "handled_by": data.handled_by}
    if isinstance(data, UnifiedReply):
        return {"outcome": data.outcome.value}
    if isinstance(data, OverdueAlert):
        return {"deadline": data.deadline.isoformat()}
    return {}
