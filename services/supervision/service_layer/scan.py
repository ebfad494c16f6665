"""The deadline scanner: asks the due-date index for overdue parts, a bounded batch at a time.

The alert and the part's `overdue_alerted_at` commit together through the outbox, so a
restart neither loses a due alert nor raises one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import select

from services.supervision.adapters.orm import PartClock, TimelineEntry
from shared.clock import Clock
from shared.contracts import OverdueAlert
from shared.db import SessionFactory
from shared.messaging.outbox import Outbox
from shared.topics import Topics

log = logging.getLogger(__name__)


class DeadlineScanner:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, topics: Topics, clock: Clock,
                 after_commit: Callable[[], None], *, batch_size: int, interval: float) -> None:
        self.sessions, self.outbox, self.topics, self.clock = sessions, outbox, topics, clock
        self.after_commit, self.batch_size, self.interval = after_commit, batch_size, interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deadline-scanner")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                while await self.scan_once() == self.batch_size:
                    await asyncio.sleep(0)  # let event consumption run between batches
            except Exception:
                log.exception("deadline scan failed; retrying")
            await asyncio.sleep(self.interval)

    async def scan_once(self) -> int:
        """Alert on one batch of parts past their deadline; returns how many."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            due = list(await session.scalars(
                select(PartClock)
                .where(PartClock.decided_at.is_(None), PartClock.overdue_alerted_at.is_(None),
                       PartClock.deadline <= now)
                .order_by(PartClock.deadline).limit(self.batch_size)))
            for part in due:
                assert part.deadline is not None
                alert = OverdueAlert(
                    case_id=part.case_id, work_order_id=part.work_order_id, department=part.department,
                    part_code=part.part_code, deadline=part.deadline, detected_at=now,
                    message=f"{part.department} 办理的 {part.part_code} 已超过承诺时限（{part.deadline:%Y-%m-%d %H:%M}）")
                event = self.outbox.add(session, self.topics.alerts, alert, subject=part.case_id)
                session.add(TimelineEntry(case_id=part.case_id, event_id=event.id, event_type=event.type,
                                          occurred_at=now, department=part.department,
                                          summary={"deadline": part.deadline.isoformat()}))
                part.overdue_alerted_at = now
        if due:
            self.after_commit()
        return len(due)
