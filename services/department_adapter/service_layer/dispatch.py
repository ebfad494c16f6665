"""Chasing answers: every pending work order goes to the department system, many at once.

Answers are recorded in groups, each with its result in the outbox in the same transaction.
A failed call is retried with exponential backoff (capped), for hours by default: a department
system may be down for a while. Work a store-and-forward bridge has sent on is asked about again when
the bridge brings news of it (`expedite`), or at the next poll; the first sign that the department
side took it (its system deciding, or the bridge saying so) is published once as a receipt (签收).
After the last attempt the work order is dead-lettered with the cause and where it was read, in the
same transaction that gives up on it. A restart resumes every pending order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.department_adapter.adapters.connector import Connector, WorkRefused
from services.department_adapter.adapters.orm import InboxItem, WorkStatus
from services.department_adapter.domain.answer import InTransit, NotYetDecided
from shared.clock import Clock
from shared.contracts import (
    AlertAcknowledged,
    CloudEvent,
    DepartmentActed,
    HandlingStarted,
    MalformedEvent,
    SupervisionAlert,
    WorkOrder,
    WorkReceived,
)
from shared.db import SessionFactory, autocommit
from shared.messaging.consumer import DeadLetters, Origin
from shared.messaging.outbox import Outbox
from shared.periodic import backoff
from shared.wakeup import woken_or_idle

log = logging.getLogger(__name__)
# the dispatcher's statements, built once: they run for every round of every piece of work
_DUE = (
    select(InboxItem.item_id, InboxItem.event)
    .where(InboxItem.status == WorkStatus.PENDING, InboxItem.next_attempt_at <= bindparam("now"))
    .order_by(InboxItem.next_attempt_at)
    .limit(bindparam("limit"))
)
_ASKED = select(InboxItem).where(InboxItem.item_id.in_(bindparam("ids", expanding=True)))
_BRING_FORWARD = (
    update(InboxItem)
    .where(InboxItem.item_id.in_(bindparam("ids", expanding=True)), InboxItem.status == WorkStatus.PENDING)
    .values(next_attempt_at=bindparam("now"), attempts=0)
)
Reply = DepartmentActed | AlertAcknowledged  # what goes back: an action on a part, or a notice acknowledged
Answered = tuple[str, Reply | Exception]


class Dispatcher:
    def __init__(
        self,
        department: str,
        sessions: SessionFactory,
        connector: Connector,
        outbox: Outbox,
        dead_letters: DeadLetters,
        clock: Clock,
        after_commit: Callable[[], None],
        *,
        attempts: int,
        backoff: float,
        concurrency: int,
        poll_seconds: float = 30.0,
        max_backoff: float = 300.0,
        idle_seconds: float = 0.5,
    ) -> None:
        self.department, self.sessions, self.connector = department, sessions, connector
        self.outbox, self.dead_letters, self.clock = outbox, dead_letters, clock
        self.after_commit, self.attempts, self.backoff = after_commit, attempts, backoff
        self.concurrency, self.idle_seconds, self.poll_seconds = concurrency, idle_seconds, poll_seconds
        self.max_backoff = max_backoff
        self.in_flight: set[str] = set()
        self.answers: asyncio.Queue[Answered] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._news: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._asking: set[asyncio.Task[None]] = set()

    def notify(self) -> None:
        """New work was accepted: look for it now rather than at the next poll."""
        self._wake.set()

    def expedite(self, item_ids: Iterable[str]) -> None:
        """The bridge has news of these items (an answer, a receipt): ask about them now, not at the next poll."""
        self._news.update(item_ids)
        self._wake.set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="dispatch"),
            asyncio.create_task(self._record_loop(), name="record-answers"),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._asking]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _dispatch_loop(self) -> None:
        while True:
            try:
                await self._bring_forward()
                for item_id, event in await self._due():
                    self.in_flight.add(item_id)
                    task = asyncio.create_task(self._ask(item_id, event))
                    self._asking.add(task)
                    task.add_done_callback(self._asking.discard)
            except Exception:
                log.exception("looking for due work failed; retrying")
            await woken_or_idle(self._wake, self.idle_seconds)

    async def _bring_forward(self) -> None:
        """News of an item being asked right now waits until its outcome is recorded: recording "still in
        transit" or "still deciding" moves its next attempt a poll later, and would bury the news."""
        news = self._news - self.in_flight
        if not news:
            return
        async with autocommit(self.sessions) as session:
            await session.execute(_BRING_FORWARD, {"ids": list(news), "now": self.clock.now()})
            await session.commit()
        self._news -= news  # only once brought forward: news of a failed round is tried again at the next

    async def _due(self) -> list[tuple[str, bytes]]:
        room = self.concurrency - len(self.in_flight)
        if room <= 0:
            return []
        async with autocommit(self.sessions) as session:
            rows = await session.execute(_DUE, {"now": self.clock.now(), "limit": room + len(self.in_flight)})
            return [(r.item_id, r.event) for r in rows if r.item_id not in self.in_flight][:room]

    async def _ask(self, item_id: str, raw: bytes) -> None:
        try:
            outcome: Reply | Exception = await self._ask_system(raw)
        except Exception as exc:
            outcome = exc
        await self.answers.put((item_id, outcome))

    async def _ask_system(self, raw: bytes) -> Reply:
        work = CloudEvent.from_bytes(raw).payload()
        if not isinstance(work, WorkOrder | HandlingStarted | SupervisionAlert) or work.department != self.department:
            raise MalformedEvent(f"not work for {self.department}")
        if isinstance(work, WorkOrder):
            return (await self.connector.pre_review(work)).acted(work, self.clock.now())
        if isinstance(work, HandlingStarted):
            return (await self.connector.decide(work)).acted(work, self.clock.now())
        staff = await self.connector.notify(work)
        return AlertAcknowledged(
            alert_id=work.alert_id,
            case_id=work.case_id,
            department=work.department,
            staff_id=staff,
            acknowledged_at=self.clock.now(),
        )

    async def _record_loop(self) -> None:
        while True:
            batch = [await self.answers.get()]
            while not self.answers.empty() and len(batch) < 500:
                batch.append(self.answers.get_nowait())
            try:
                await self._record(batch)
            except Exception:
                log.exception("recording %d answers failed; they will be asked again", len(batch))
                await asyncio.sleep(1.0)  # not at once: a database that fails now likely fails a moment later
            finally:
                self.in_flight.difference_update(item_id for item_id, _ in batch)
                self._wake.set()

    async def _record(self, batch: list[Answered]) -> None:
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            items = {i.item_id: i for i in await session.scalars(_ASKED, {"ids": [i for i, _ in batch]})}
            for item_id, outcome in batch:
                item = items[item_id]
                if item.status != WorkStatus.PENDING:
                    continue
                if isinstance(outcome, DepartmentActed | AlertAcknowledged):
                    event = self.outbox.add(session, outcome, subject=outcome.case_id)
                    item.status, item.result_event_id, item.answered_at = WorkStatus.ANSWERED, event.id, now
                    item.received_at = item.received_at or now  # the answer shows it was taken; no receipt needed
                    item.last_error = None  # answered: what failed before is no longer the state of this work
                elif isinstance(outcome, NotYetDecided):  # still at it: contact works, no failure
                    item.attempts, item.next_attempt_at = 0, now + timedelta(seconds=self.poll_seconds)
                    if item.received_at is None:
                        item.received_at = outcome.received_at or now
                        self._receipt(session, item)
                elif isinstance(outcome, InTransit):  # on its way: the bridge's news, or the next poll, brings it back
                    item.attempts, item.next_attempt_at = 0, now + timedelta(seconds=self.poll_seconds)
                elif self._failed(item, outcome, now):  # given up: the dead letter leaves with this commit
                    origin = Origin(item.topic, item.partition, item.offset, item.case_id, item.event)
                    tries = "1 attempt" if item.attempts == 1 else f"{item.attempts} attempts"
                    letter = self.dead_letters.letter(origin, f"after {tries}: {item.last_error}")
                    self.outbox.add(session, letter, subject=item.case_id)
        self.after_commit()

    def _receipt(self, session: AsyncSession, item: InboxItem) -> None:
        """签收 of a work order's round or handling (a notice's receipt is its acknowledgement, 回告)."""
        work_order_id, _, work = item.item_id.partition("#")
        if work == "handle" or work.startswith("review"):
            assert item.received_at is not None
            receipt = WorkReceived(
                case_id=item.case_id,
                work_order_id=work_order_id,
                department=self.department,
                work=work,
                received_at=item.received_at,
            )
            self.outbox.add(session, receipt, subject=item.case_id)

    def _failed(self, item: InboxItem, error: Exception, now: datetime) -> bool:
        """Count the failed attempt; True when it was the last one."""
        item.attempts += 1
        item.last_error = f"{type(error).__name__}: {error}"[:2000]
        permanent = isinstance(error, MalformedEvent | WorkRefused)
        if permanent or item.attempts >= self.attempts:
            item.status = WorkStatus.DEAD
            return True
        delay = backoff(item.attempts, self.backoff, self.max_backoff)
        item.next_attempt_at = now + timedelta(seconds=delay)
        return False
