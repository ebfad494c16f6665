"""A copy no department read (送达异常): each piece of work sent to a department is tracked until the
department side takes it (its receipt, 签收, or any action on the part). Work not taken within the
configured time raises a DeliveryAlert; taking it at last clears the alert. The bridges' own reports
are kept beside, for the view of each department's bridge."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import BridgeState, TimelineEntry, WorkDelivery
from shared.clock import Clock
from shared.contracts import BridgeReport, DeliveryAlert, WorkReceived
from shared.db import SessionFactory
from shared.messaging.consumer import Delivery
from shared.messaging.outbox import Outbox, queue
from shared.periodic import Periodic

WORK_TEXT = {"handle": "办理"}
_SENT = select(WorkDelivery).where(WorkDelivery.case_id.in_(bindparam("ids", expanding=True)))  # every batch


def work_text(work: str) -> str:
    """`review2` → 第2轮预审; `handle` → 办理."""
    return WORK_TEXT.get(work) or f"第{work.removeprefix('review')}轮预审"


class Sent:
    """The work sent for a batch's cases, loaded together with their parts and saved with them; found by
    work order and by case, so a batch of many events costs a lookup each, not a pass over all its work."""

    def __init__(self, session: AsyncSession, rows: Iterable[WorkDelivery]) -> None:
        self.session = session
        self.rows: dict[tuple[str, str], WorkDelivery] = {}
        self._of_order: dict[str, list[WorkDelivery]] = {}
        self._of_case: dict[str, list[WorkDelivery]] = {}
        for row in rows:
            self._keep(row)

    def _keep(self, row: WorkDelivery) -> None:
        self.rows[(row.work_order_id, row.work)] = row
        self._of_order.setdefault(row.work_order_id, []).append(row)
        self._of_case.setdefault(row.case_id, []).append(row)

    @classmethod
    async def load(cls, session: AsyncSession, case_ids: list[str]) -> Sent:
        return cls(session, await session.scalars(_SENT, {"ids": case_ids}))

    def issue(self, case_id: str, department: str, work_order_id: str, work: str, at: datetime) -> None:
        """Work went to a department (read from the case's events): watch until it is taken."""
        if (work_order_id, work) in self.rows:
            return
        row = WorkDelivery(
            work_order_id=work_order_id, work=work, case_id=case_id, department=department, issued_at=at, closed=False
        )
        self._keep(row)
        self.session.add(row)

    def acted(self, work_order_id: str, at: datetime) -> None:
        """The department acted on the part: every work of it sent before was taken."""
        for row in self._of_order.get(work_order_id, ()):
            if row.taken_at is None and row.issued_at <= at:
                row.taken_at = at

    def close(self, case_id: str) -> None:
        """The case ended: what was never taken is no longer waited for (a raised alert stays, and clears)."""
        for row in self._of_case.get(case_id, ()):
            if row.taken_at is None and row.alert_id is None:
                row.closed = True


_TAKE = (  # built once: every piece of work is taken
    update(WorkDelivery)
    .where(
        WorkDelivery.work_order_id == bindparam("b_order"),
        WorkDelivery.work == bindparam("b_work"),
        WorkDelivery.taken_at.is_(None),
    )
    .values(taken_at=bindparam("b_at"))
    .execution_options(synchronize_session=False)
)


async def take(session: AsyncSession, received: WorkReceived) -> None:
    """签收 of one piece of work."""
    await session.execute(_TAKE, {"b_order": received.work_order_id, "b_work": received.work, "b_at": received.received_at})


async def receipts(session: AsyncSession, deliveries: list[Delivery], sender: str) -> None:
    """签收 from the `sender` department's own topic; one naming another department's work takes nothing."""
    for d in deliveries:
        if isinstance(d.data, WorkReceived) and d.data.department == sender:
            await take(session, d.data)


async def reports(session: AsyncSession, deliveries: Iterable[Delivery], sender: str, now: datetime) -> None:
    """The latest report of the `sender` department's bridge (its own topic proves whose it is)."""
    ours = [d.data for d in deliveries if isinstance(d.data, BridgeReport) and d.data.department == sender]
    if not ours:
        return
    latest = max(ours, key=lambda report: report.reported_at)
    state = await session.get(BridgeState, sender)
    if state is None:
        state = BridgeState(department=sender)
        session.add(state)
    elif state.reported_at > latest.reported_at:
        return  # an older report, redelivered
    state.bridge, state.reported_at, state.received_at = latest.bridge, latest.reported_at, now
    state.waiting, state.last_contact_at = latest.waiting, latest.last_contact_at
    state.oldest_waiting_since = min((w.since for w in latest.oldest_waiting), default=None)
    state.report = latest.model_dump(mode="json")


class DeliveryWatch:
    """Raises and clears 送达异常, a batch at a time, with the alert in the outbox and on the case's timeline."""

    def __init__(
        self,
        sessions: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        after_commit: Callable[[], None],
        names: dict[str, str],
        *,
        undelivered_after: timedelta,
        interval: float,
        batch_size: int = 500,
    ) -> None:
        self.sessions, self.outbox, self.clock, self.after_commit = sessions, outbox, clock, after_commit
        self.names = names  # departments by their Chinese names, as supervisors read them
        self.undelivered_after, self.interval, self.batch_size = undelivered_after, interval, batch_size
        self.loop = Periodic("delivery watch", interval, self.check_all)

    async def check_all(self) -> None:
        """Batch after batch until a batch is not full (a center back from a long outage has many)."""
        while await self.check_once() == self.batch_size:
            await asyncio.sleep(0)  # let event consumption run between batches

    async def check_once(self) -> int:
        """Raise what waited too long, clear what was taken since; returns how many alerts were written."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            late = await session.scalars(
                select(WorkDelivery)
                .where(
                    WorkDelivery.taken_at.is_(None),
                    WorkDelivery.closed.is_(False),
                    WorkDelivery.alert_id.is_(None),
                    WorkDelivery.issued_at <= now - self.undelivered_after,
                )
                .limit(self.batch_size)
            )
            taken = await session.scalars(
                select(WorkDelivery)
                .where(WorkDelivery.alert_id.is_not(None), WorkDelivery.cleared_at.is_(None), WorkDelivery.taken_at.is_not(None))
                .limit(self.batch_size)
            )
            written = [self._raise(w, now) for w in late] + [self._clear(w, now) for w in taken]
            rows, timeline = [], []
            for work, alert in written:
                event, event_rows = self.outbox.rows(alert, subject=work.case_id)
                rows += event_rows
                timeline.append(
                    dict(
                        case_id=work.case_id,
                        event_id=event.id,
                        event_type=event.type,
                        occurred_at=now,
                        department=work.department,
                        summary={"work": work.work, "cleared": alert.cleared_at is not None, "message": alert.message},
                    )
                )
            if written:
                queue(session, rows)
                await session.execute(insert(TimelineEntry), timeline)
        if written:
            self.after_commit()
        return len(written)

    def _raise(self, work: WorkDelivery, now: datetime) -> tuple[WorkDelivery, DeliveryAlert]:
        work.alert_id, work.raised_at = str(uuid.uuid4()), now
        hours = (now - work.issued_at).total_seconds() / 3600
        message = (
            f"【送达异常】办件 {work.case_id} 的{work_text(work.work)}工作已发送 {hours:.1f} 小时，"
            f"{self.names.get(work.department, work.department)} 尚未签收，请核查该部门的联办通道。"
        )
        return work, self._alert(work, message)

    def _clear(self, work: WorkDelivery, now: datetime) -> tuple[WorkDelivery, DeliveryAlert]:
        work.cleared_at = now
        name = self.names.get(work.department, work.department)
        message = f"【送达恢复】办件 {work.case_id} 的{work_text(work.work)}工作已由 {name} 签收，送达异常解除。"
        return work, self._alert(work, message)

    @staticmethod
    def _alert(work: WorkDelivery, message: str) -> DeliveryAlert:
        assert work.alert_id is not None
        assert work.raised_at is not None
        return DeliveryAlert(
            alert_id=work.alert_id,
            case_id=work.case_id,
            work_order_id=work.work_order_id,
            department=work.department,
            work=work.work,
            waiting_since=work.issued_at,
            raised_at=work.raised_at,
            cleared_at=work.cleared_at,
            message=message,
        )
