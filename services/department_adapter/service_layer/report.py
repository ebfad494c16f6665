"""The bridge's report to supervision: what waits for the department side and when it was last heard
from, every few seconds, so that a copy no department read is seen (送达异常) without asking anyone."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.department_adapter.adapters.connector import Connector
from services.department_adapter.adapters.orm import InboxItem, WorkStatus
from services.department_adapter.domain.answer import waiting
from shared.clock import Clock
from shared.contracts import BridgeReport, WaitingWork
from shared.db import SessionFactory
from shared.messaging.outbox import Outbox
from shared.periodic import Periodic

OLDEST_SHOWN = 20


class BridgeReporter:
    def __init__(
        self,
        department: str,
        sessions: SessionFactory,
        connector: Connector,
        outbox: Outbox,
        clock: Clock,
        after_commit: Callable[[], None],
        every_seconds: float,
    ) -> None:
        self.department, self.sessions, self.connector = department, sessions, connector
        self.outbox, self.clock, self.after_commit = outbox, clock, after_commit
        self.loop = Periodic("bridge report", every_seconds, self.report)

    async def report(self) -> BridgeReport:
        """One report, in the outbox: work orders and notices not taken yet, the oldest first (from the inbox,
        or from the bridge when it knows better)."""
        facts = self.connector.facts()
        async with self.sessions() as session, session.begin():
            if facts.waiting is None:
                count, oldest = await _waiting_in_inbox(session)
            else:
                count, oldest = facts.waiting, facts.oldest
            report = BridgeReport(
                department=self.department,
                bridge=self.connector.bridge,
                reported_at=self.clock.now(),
                waiting=count,
                oldest_waiting=oldest,
                last_contact_at=facts.last_contact_at,
                detail=facts.detail,
            )
            self.outbox.add(session, report, subject=self.department)
        self.after_commit()
        return report


async def _waiting_in_inbox(session: AsyncSession) -> tuple[int, list[WaitingWork]]:
    not_taken = (InboxItem.status == WorkStatus.PENDING) & InboxItem.received_at.is_(None)
    count = await session.scalar(select(func.count()).select_from(InboxItem).where(not_taken)) or 0
    rows = await session.execute(
        select(InboxItem.item_id, InboxItem.case_id, InboxItem.queued_at)
        .where(not_taken, InboxItem.queued_at.is_not(None))
        .order_by(InboxItem.queued_at)
        .limit(OLDEST_SHOWN)
    )
    return count, [waiting(r.item_id, r.case_id, r.queued_at) for r in rows]
