"""The department side of the ferry: takes the center's bundles (in order, once each), hands each piece
of work to the department's own system through its REST API, and sends back, in its own numbered
bundles, a receipt (签收) for everything taken and then the answer, the acknowledgement (回告) or the
system's refusal, each with the time the agent had it. Refused bundles of the center's are reported too."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.department_adapter.adapters.connector import Connector, WorkRefused
from services.department_adapter.domain.answer import Answer, NotYetDecided
from services.ferry_agent.tables import TABLES, ReceivedWork, Status
from shared.clock import Clock
from shared.contracts import HandlingStarted, SupervisionAlert, WorkOrder
from shared.db import SessionFactory
from shared.ferry.bundle import Bundle, BundleError
from shared.ferry.entries import (
    AcknowledgementEntry,
    AnswerEntry,
    BundleRefusedEntry,
    ReceiptEntry,
    RefusalEntry,
    WorkEntry,
    read_entries,
)
from shared.ferry.ledger import Ledger, Refusal, Side
from shared.periodic import Periodic, backoff
from shared.routing import EVENT_TYPES
from shared.signing import KeyRegistry, Signer
from shared.wakeup import woken_or_idle

log = logging.getLogger(__name__)
Outcome = Answer | str | Exception  # an answer, who acknowledged a notice, or why not
Asked = tuple[str, Outcome, datetime]


class FerryAgent:
    def __init__(
        self,
        department: str,
        center: str,
        sessions: SessionFactory,
        system: Connector,
        signer: Signer,
        registry: KeyRegistry,
        incoming: Path,
        outgoing: Path,
        clock: Clock,
        *,
        poll_seconds: float = 1.0,
        bundle_seconds: float = 2.0,
        ask_again_seconds: float = 30.0,
        backoff: float = 0.5,
        max_backoff: float = 300.0,
        concurrency: int = 32,
    ) -> None:
        self.sessions, self.system, self.clock = sessions, system, clock
        self.poll_seconds, self.ask_again_seconds = poll_seconds, ask_again_seconds
        self.backoff, self.max_backoff, self.concurrency = backoff, max_backoff, concurrency
        side = Side(f"department:{department}", f"center:{center}/{department}", department, outgoing, incoming)
        self.ledger = Ledger(TABLES, sessions, side, signer, registry, clock)
        self._wake = asyncio.Event()
        self._loops = [
            Periodic("ferry agent in", poll_seconds, self.receive, wait_first=True),
            Periodic("ferry agent out", bundle_seconds, self.send, wait_first=True),
        ]
        self._delivering: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.ledger.write_unwritten()
        await self.ledger.refresh()
        self._delivering = asyncio.create_task(self._deliver_loop(), name="ferry-agent-deliver")
        for loop in self._loops:
            loop.start()

    async def stop(self) -> None:
        for loop in self._loops:
            await loop.stop()
        if self._delivering is not None:
            self._delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivering
        await self.system.close()  # the agent owns its connection to the department system

    async def receive(self) -> list[str]:
        """Read the center's bundles once; the work they brought is delivered at once."""
        news = await self.ledger.read_incoming(self._apply, self._refuse)
        if news:
            self._wake.set()
        return news

    async def send(self) -> list[int]:
        sent = []
        while (seq := await self.ledger.write_bundle()) is not None:
            sent.append(seq)
        return sent

    async def _apply(self, session: AsyncSession, bundle: Bundle) -> list[str]:
        """Each new piece of work recorded as received, with its receipt queued, in the bundle's transaction."""
        entries = read_entries(bundle)
        work = [e for e in entries if isinstance(e, WorkEntry)]
        if len(work) != len(entries):
            raise BundleError("中心发来的不是办件 (the center sent something other than work)", bundle.seq)
        now = self.clock.now()
        known = set(await session.scalars(select(ReceivedWork.item_id).where(ReceivedWork.item_id.in_([w.item for w in work]))))
        for entry in work:
            if entry.item in known:
                continue
            known.add(entry.item)
            session.add(ReceivedWork(item_id=entry.item, work=entry.model_dump_json(), received_at=now, next_attempt_at=now))
            await self.ledger.queue(session, f"receipt:{entry.item}", ReceiptEntry(item=entry.item, received_at=now).dump())
        return [w.item for w in work]

    async def _refuse(self, session: AsyncSession, refusal: Refusal) -> None:
        """Told to the center in the next bundle: its operators see it as a dead letter."""
        entry = BundleRefusedEntry(seq=refusal.seq, file=refusal.file[:255], reason=refusal.reason, refused_at=self.clock.now())
        await self.ledger.queue(session, f"refused:{hashlib.sha256(refusal.raw).hexdigest()}", entry.dump())

    async def deliver(self) -> int:
        """Ask the department system about every piece of work due, many at once; returns how many were asked."""
        async with self.sessions() as session:
            due = list(
                await session.scalars(
                    select(ReceivedWork)
                    .where(ReceivedWork.status == Status.PENDING, ReceivedWork.next_attempt_at <= self.clock.now())
                    .order_by(ReceivedWork.next_attempt_at)
                    .limit(self.concurrency * 4)
                )
            )
        if not due:
            return 0
        room = asyncio.Semaphore(self.concurrency)
        asked = await asyncio.gather(*(self._ask(room, work) for work in due))
        await self._record(asked)
        return len(asked)

    async def _deliver_loop(self) -> None:
        while True:
            try:
                asked = await self.deliver()
            except Exception:
                log.exception("delivering work to the department system failed; trying again")
                asked = 0
            if not asked:
                await woken_or_idle(self._wake, self.poll_seconds)

    async def _ask(self, room: asyncio.Semaphore, work: ReceivedWork) -> Asked:
        async with room:
            try:
                outcome: Outcome = await self._ask_system(WorkEntry.model_validate_json(work.work))
            except Exception as exc:
                outcome = exc
        return work.item_id, outcome, self.clock.now()

    async def _ask_system(self, entry: WorkEntry) -> Answer | str:
        model = EVENT_TYPES.get(entry.type)
        try:
            work = model.model_validate(entry.data) if model else None
        except ValidationError as exc:
            raise WorkRefused(f"办件格式错误 (the work is malformed): {exc.errors()[0]['msg']}") from exc
        if isinstance(work, WorkOrder):
            return await self.system.pre_review(work)
        if isinstance(work, HandlingStarted):
            return await self.system.decide(work)
        if isinstance(work, SupervisionAlert):
            return await self.system.notify(work)
        raise WorkRefused(f"不是办件 (not work): {entry.type}")

    async def _record(self, asked: list[Asked]) -> None:
        """Outcomes and the entries they send back, in one transaction."""
        async with self.sessions() as session, session.begin():
            found = await session.scalars(select(ReceivedWork).where(ReceivedWork.item_id.in_([a[0] for a in asked])))
            works = {w.item_id: w for w in found}
            for item, outcome, at in asked:
                await self._outcome(session, works[item], outcome, at)

    async def _outcome(self, session: AsyncSession, work: ReceivedWork, outcome: Outcome, at: datetime) -> None:
        item = work.item_id
        if isinstance(outcome, Answer):
            entry: AnswerEntry | AcknowledgementEntry | RefusalEntry = AnswerEntry(
                item=item, action=outcome.action, staff_id=outcome.staff_id, acted_at=outcome.acted_at or at
            )
        elif isinstance(outcome, str):
            entry = AcknowledgementEntry(item=item, staff_id=outcome, acknowledged_at=at)
        elif isinstance(outcome, WorkRefused):
            entry = RefusalEntry(item=item, reason=str(outcome)[:2000], refused_at=at)
        elif isinstance(outcome, NotYetDecided):
            work.attempts, work.next_attempt_at = 0, at + timedelta(seconds=self.ask_again_seconds)
            return
        else:
            work.attempts += 1
            work.last_error = f"{type(outcome).__name__}: {outcome}"[:2000]
            delay = backoff(work.attempts, self.backoff, self.max_backoff)
            work.next_attempt_at = at + timedelta(seconds=delay)
            return
        work.status = Status.REFUSED if isinstance(entry, RefusalEntry) else Status.ANSWERED
        work.done_at, work.last_error = at, None
        await self.ledger.queue(session, f"{entry.kind}:{item}", entry.dump())
