"""Applying submissions and results to the case views, and replying when a case is complete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.adapters.orm import CaseView, PartView
from services.gateway.domain.reply import PartState, unified_reply
from shared.contracts import CaseSubmitted, DepartmentResult, Outcome
from shared.messaging.consumer import Delivery
from shared.messaging.outbox import Outbox
from shared.topics import Topics


class Aggregator:
    def __init__(self, outbox: Outbox, topics: Topics,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.outbox, self.topics, self.clock = outbox, topics, clock

    async def apply(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        case_ids = {d.event.subject for d in deliveries}
        cases = {c.case_id: c for c in await session.scalars(select(CaseView).where(CaseView.case_id.in_(case_ids)))}
        parts = {p.work_order_id: p for p in await session.scalars(select(PartView).where(PartView.case_id.in_(case_ids)))}
        for delivery in deliveries:
            if isinstance(delivery.data, CaseSubmitted):
                self._submitted(session, delivery.data, cases, parts)
            elif isinstance(delivery.data, DepartmentResult):
                self._result(session, delivery.data, parts)
        for case in cases.values():
            self._reply_if_complete(session, case, [p for p in parts.values() if p.case_id == case.case_id])

    @staticmethod
    def _submitted(session: AsyncSession, event: CaseSubmitted, cases: dict[str, CaseView],
                   parts: dict[str, PartView]) -> None:
        if event.case_id in cases:
            return
        cases[event.case_id] = case = CaseView(
            case_id=event.case_id, matter_code=event.matter_code, matter_name=event.matter_name,
            lead_department=event.lead_department, applicant=event.applicant.model_dump(mode="json"),
            submitted_at=event.submitted_at)
        session.add(case)
        for p in event.parts:
            part = parts.get(p.work_order_id)
            if part is None:
                parts[p.work_order_id] = part = PartView(work_order_id=p.work_order_id, case_id=event.case_id,
                                                         department=p.department, part_code=p.part_code)
                session.add(part)
            part.part_name = p.part_name

    @staticmethod
    def _result(session: AsyncSession, event: DepartmentResult, parts: dict[str, PartView]) -> None:
        part = parts.get(event.work_order_id)
        if part is None:
            parts[event.work_order_id] = part = PartView(work_order_id=event.work_order_id, case_id=event.case_id,
                                                         department=event.department, part_code=event.part_code)
            session.add(part)
        if part.outcome is not None:
            return  # a department decides its part once; supervision sees the second attempt
        part.outcome, part.document_number = event.outcome.value, event.document_number
        part.legal_basis, part.reason = event.legal_basis, event.reason
        part.handled_by, part.decided_at = event.handled_by, event.decided_at

    def _reply_if_complete(self, session: AsyncSession, case: CaseView, parts: list[PartView]) -> None:
        if case.reply is not None:
            return
        states = [PartState(p.work_order_id, p.department, p.part_code, p.part_name,
                            Outcome(p.outcome) if p.outcome else None, p.document_number, p.legal_basis,
                            p.reason, p.decided_at) for p in sorted(parts, key=lambda p: p.work_order_id)]
        reply = unified_reply(case.case_id, case.matter_name, states, self.clock())
        if reply is None:
            return
        case.reply = reply.model_dump(mode="json")
        self.outbox.add(session, self.topics.replies, reply, subject=case.case_id)
