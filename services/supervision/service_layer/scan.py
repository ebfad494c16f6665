"""The ladder scanner: asks the due-date index for parts whose next step may be due, a bounded
batch of one department's at a time, and issues what is due; then sleeps until the index's next check
falls due.

A batch holds the service while it runs (event batches wait for it), so batches are sized to take
about `BATCH_SECONDS`, measured on the last one.

Alerts, the part's new state and its next check commit together with the outbox, so a restart
neither loses a due step nor issues one twice. Replicas on one PostgreSQL database scan at once: each
batch takes one department's due parts and that department's cards (row locks and an advisory lock,
both skipped when another replica holds them), so a red card follows exactly the department's third
yellow card whichever replica issues them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import Alert, PartClock
from services.supervision.domain.ladder import Policy, Watch, due
from services.supervision.service_layer.alerts import AlertDesk, Issued
from services.supervision.service_layer.clocks import Clocks
from services.supervision.service_layer.watch import SUPERVISION
from shared.clock import Clock
from shared.contracts import AlertKind, DeemedApproval, DeemedApprovalIssued
from shared.db import SessionFactory, autocommit, plans_kept
from shared.workdays import WorkingCalendar

log = logging.getLogger(__name__)
CARD_WINDOW = timedelta(days=30)  # yellow cards of a department that count towards a red one
BATCH_SECONDS = 0.1  # how long one batch may keep event batches waiting


class LadderScanner:
    def __init__(
        self,
        sessions: SessionFactory,
        desk: AlertDesk,
        calendar: WorkingCalendar,
        policy: Policy,
        clock: Clock,
        after_commit: Callable[[], None],
        *,
        batch_size: int,
        interval: float,
    ) -> None:
        self.sessions, self.desk, self.calendar, self.policy, self.clock = sessions, desk, calendar, policy, clock
        self.after_commit, self.batch_size, self.interval = after_commit, batch_size, interval
        self._size = min(batch_size, 50)  # until a batch has been timed
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ladder-scanner")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            pause = self.interval
            try:
                while await self._scan_paced():
                    await asyncio.sleep(0)  # let event consumption run between batches
                pause = await self.until_next_check()
            except Exception:
                log.exception("ladder scan failed; retrying")
            await asyncio.sleep(pause)

    async def _scan_paced(self) -> bool:
        """One batch of about BATCH_SECONDS' work; whether it found any (more may be due)."""
        size, began = self._size, time.perf_counter()
        looked = await self.scan_once(limit=size)
        if looked:
            per_part = (time.perf_counter() - began) / looked
            self._size = min(self.batch_size, max(10, int(BATCH_SECONDS / per_part)))
        return looked > 0  # another department's parts may be due too

    async def until_next_check(self) -> float:
        """Seconds until the due-date index's earliest check, at most `interval` (parts the events add
        or move meanwhile are seen by then)."""
        async with autocommit(self.sessions) as session:
            first = await session.scalar(
                select(PartClock.next_check_at)
                .where(PartClock.next_check_at.is_not(None), PartClock.decided_at.is_(None))
                .order_by(PartClock.next_check_at)
                .limit(1)
            )
        if first is None:
            return self.interval
        # not less than a moment: a due part another replica holds locked is skipped until it lets go
        return min(self.interval, max(0.01, (first - self.clock.now()).total_seconds()))

    async def reschedule_waiting(self, clocks: Clocks) -> int:
        """Give a deadline to the parts that waited for the calendar to learn their year."""
        async with self.sessions() as session, session.begin():
            waiting = list(
                await session.scalars(
                    select(PartClock).where(PartClock.calendar_error.is_not(None), PartClock.decided_at.is_(None))
                )
            )
            for part in waiting:
                clocks.reschedule(part)
        return len(waiting)

    async def scan_once(self, limit: int | None = None) -> int:
        """Handle one batch of one department's parts whose next check is due; returns how many were looked at."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            parts = await take_due(session, now, limit or self.batch_size)
            if not parts:
                return 0
            cards = await self._yellow_cards(session, parts[0].department, now)
            await plans_kept(session)  # the reads are done: the rest is rows inserted and parts updated by key
            issued = Issued()
            for part in parts:
                self._step(issued, part, now, cards)
            await issued.write(session)
        if issued.alerts:
            self.after_commit()
        return len(parts)

    async def _yellow_cards(self, session: AsyncSession, department: str, now: datetime) -> dict[str, int]:
        """The department's recent yellow cards, counted only as far as a red card needs: a burst of
        deadlines leaves thousands, and counting them all again for every batch cost a sixth of the scan."""
        recent = (
            select(Alert.alert_id)
            .where(Alert.kind == AlertKind.YELLOW.value, Alert.department == department, Alert.issued_at >= now - CARD_WINDOW)
            .limit(self.policy.red_after_yellow_cards)
        )
        return {department: await session.scalar(select(func.count()).select_from(recent.subquery())) or 0}

    def _step(self, issued: Issued, part: PartClock, now: datetime, cards: dict[str, int]) -> None:
        urges = [datetime.fromisoformat(u) for u in part.urges]
        watch = Watch(
            deadline=part.deadline,
            silence_means_yes=part.silence_means_yes,
            extension_approved=part.extension_days > 0,
            reminded=part.reminded,
            yellow=part.yellow,
            red=part.red,
            shirking=part.shirking,
            deemed=part.deemed,
            urges=urges,
            department_yellow_cards=cards.get(part.department, 0),
        )
        steps, part.next_check_at = due(watch, now, self.calendar, self.policy)
        for step in steps:
            self._issue(issued, part, step, now, urges, cards)

    def _issue(
        self, issued: Issued, part: PartClock, step: AlertKind, now: datetime, urges: list[datetime], cards: dict[str, int]
    ) -> None:
        if step is AlertKind.URGE:
            part.urge_count += 1
            urges.append(now)
            part.urges = [u.isoformat() for u in urges]
            self.desk.issue(issued, part, step, now, sequence=part.urge_count)
            return
        evidence = self._evidence(part, urges, now) if step in (AlertKind.SHIRK, AlertKind.DEEM) else {}
        self.desk.issue(issued, part, step, now, sequence=part.ladder_round, evidence=evidence)
        if step is AlertKind.REMIND:
            part.reminded = True
        elif step is AlertKind.YELLOW:
            part.yellow = True
            cards[part.department] = cards.get(part.department, 0) + 1
        elif step is AlertKind.RED:
            part.red = True
        elif step is AlertKind.SHIRK:
            part.shirking = True
        elif step is AlertKind.DEEM:
            part.deemed = True  # asked for; cleared again if the case refuses it (see Watcher)
            self._deem(issued, part, urges, now)

    def _evidence(self, part: PartClock, urges: list[datetime], now: datetime) -> dict[str, object]:
        return {
            "deadline": part.deadline.isoformat() if part.deadline else None,
            "urged_at": [u.isoformat() for u in urges],
            "silent_since": self._silent_since(part).isoformat(),
            "recorded_at": now.isoformat(),
        }

    @staticmethod
    def _silent_since(part: PartClock) -> datetime:
        moments = [m for m in (part.last_answer_at, part.started_at) if m is not None]
        return max(moments)

    def _deem(self, issued: Issued, part: PartClock, urges: list[datetime], now: datetime) -> None:
        """超时默许: approve on the silent department's behalf, through the case like any action."""
        assert part.deadline is not None
        after_deadline = [u for u in urges if u > part.deadline]  # the urgings the silence is counted from
        action = DeemedApproval(
            document_number=f"默许-{part.work_order_id}",
            deadline=part.deadline,
            urged_at=after_deadline,
            silent_since=self._silent_since(part),
        )
        acted = DeemedApprovalIssued(
            case_id=part.case_id,
            work_order_id=part.work_order_id,
            department=part.department,
            staff_id=SUPERVISION,
            acted_at=now,
            action=action,
        )
        issued.outbox += self.desk.outbox.rows(acted, subject=part.case_id)[1]


CARDS_LOCK = 0x4C42_4344  # the namespace of the departments' card locks (pg_try_advisory_xact_lock(namespace, key))


async def take_due(session: AsyncSession, now: datetime, limit: int) -> list[PartClock]:
    """The due parts of the department whose part fell due first, earliest first, at most `limit`, locked for the
    transaction. On PostgreSQL, among the departments no other replica is scanning: the department's cards are
    locked with its parts (released at commit), so only this transaction issues and counts them."""
    due = (PartClock.next_check_at <= now, PartClock.decided_at.is_(None))
    scanned_elsewhere: list[str] = []
    while True:  # asked one department at a time: a lock taken inside the scan would depend on the plan
        department = await session.scalar(
            select(PartClock.department)
            .where(*due, PartClock.department.not_in(scanned_elsewhere))
            .order_by(PartClock.next_check_at)
            .limit(1)
        )
        if department is None:
            return []
        if await _cards_taken(session, department):
            break
        scanned_elsewhere.append(department)
    parts = await session.scalars(
        select(PartClock)
        .where(*due, PartClock.department == department)
        .order_by(PartClock.next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # a part an event is changing right now waits for the next batch
    )
    return list(parts)


async def _cards_taken(session: AsyncSession, department: str) -> bool:
    """Whether this transaction now holds the department's cards (at once or not at all; SQLite: one writer)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(CARDS_LOCK, func.hashtext(department)))))
