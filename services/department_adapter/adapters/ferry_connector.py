"""Connector for a department behind a one-way file ferry (网闸/光闸, or a disc): work leaves in signed,
numbered bundles; the department's agent (services/ferry_agent) sends back receipts, answers and
acknowledgements the same way, with its own times. Nothing is asked of the department in real time: a
piece of work is InTransit until its receipt arrives, NotYetDecided until its answer does, and `news`
wakes the dispatcher for every item a bundle brought something about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.department_adapter.adapters import ferry_tables
from services.department_adapter.adapters.connector import BridgeFacts, News, WorkRefused
from services.department_adapter.adapters.ferry_tables import FerryBundleIn, FerryBundleOut, FerryReply
from services.department_adapter.domain.answer import Answer, InTransit, NotYetDecided, item_id
from shared.clock import Clock
from shared.contracts import DeadLetter, DepartmentAction, EventData, HandlingStarted, SupervisionAlert, WorkOrder
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
from shared.ferry.ledger import Ledger, Refusal, Side, waive
from shared.messaging.outbox import Outbox
from shared.periodic import Periodic
from shared.signing import KeyRegistry, Signer

ACTION: TypeAdapter[DepartmentAction] = TypeAdapter(DepartmentAction)  # type: ignore[arg-type]
Said = ReceiptEntry | AnswerEntry | AcknowledgementEntry | RefusalEntry


class FerryConnector:
    bridge = "ferry"

    def __init__(
        self,
        department: str,
        sessions: SessionFactory,
        outbox: Outbox,
        signer: Signer,
        registry: KeyRegistry,
        outgoing: Path,
        incoming: Path,
        clock: Clock,
        after_commit: Callable[[], None],
        *,
        bundle_seconds: float = 2.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.department, self.sessions, self.outbox, self.clock = department, sessions, outbox, clock
        self.after_commit = after_commit
        self._letters = False  # dead letters added since the relay was last woken
        side = Side(f"center:{outbox.topics.center}/{department}", f"department:{department}", department, outgoing, incoming)
        self.ledger = Ledger(ferry_tables.TABLES, sessions, side, signer, registry, clock)
        self._news: News = lambda _items: None
        self._loops = [
            Periodic(f"ferry out ({department})", bundle_seconds, self.send, wait_first=True),
            Periodic(f"ferry in ({department})", poll_seconds, self.receive, wait_first=True),
        ]

    async def start(self, news: News) -> None:
        """Write what a crash left unwritten, then the two loops: bundles out, bundles in."""
        self._news = news
        await self.ledger.write_unwritten()
        await self.ledger.refresh()
        for loop in self._loops:
            loop.start()

    async def close(self) -> None:
        for loop in self._loops:
            await loop.stop()

    def facts(self) -> BridgeFacts:
        return BridgeFacts(self.ledger.last_applied_at(), self.ledger.state.detail())

    async def pre_review(self, order: WorkOrder) -> Answer:
        return self._answer(await self._reply(order))

    async def decide(self, work: HandlingStarted) -> Answer:
        return self._answer(await self._reply(work))

    async def notify(self, alert: SupervisionAlert) -> str:
        reply = await self._reply(alert)
        if reply.staff_id is None:
            raise NotYetDecided(reply.item_id, received_at=reply.received_at)
        return reply.staff_id

    async def _reply(self, work: EventData) -> FerryReply:
        """What the department side said of this work; InTransit (queued for the next bundle) if nothing yet."""
        item = item_id(work)
        assert item is not None
        async with self.sessions() as session, session.begin():
            reply = await session.get(FerryReply, item)
            if reply is None:
                entry = WorkEntry(item=item, type=work.event_type, data=work.model_dump(mode="json"))
                await self.ledger.queue(session, item, entry.dump())
        if reply is None:
            raise InTransit(item)
        if reply.refused is not None:
            raise WorkRefused(f"department system refused the request: {reply.refused}")
        return reply

    @staticmethod
    def _answer(reply: FerryReply) -> Answer:
        if reply.action is None:
            raise NotYetDecided(reply.item_id, received_at=reply.received_at)
        return Answer(ACTION.validate_json(reply.action), reply.staff_id or "unknown", reply.acted_at)

    async def send(self) -> list[int]:
        """Every queued piece of work into numbered bundles, now; the numbers written."""
        sent = []
        while (seq := await self.ledger.write_bundle()) is not None:
            sent.append(seq)
        if sent:
            await self.ledger.refresh()
        return sent

    async def receive(self) -> list[str]:
        """Read `incoming` once: apply what is next in sequence, hold what is early, refuse what is not genuine."""
        news = await self.ledger.read_incoming(self._apply, self._refuse)
        if self._letters:  # only a refusal adds to the outbox: wake the relay then, not every poll
            self._letters = False
            self.after_commit()
        if news:
            self._news(news)
        return news

    async def _apply(self, session: AsyncSession, bundle: Bundle) -> list[str]:
        entries = read_entries(bundle)
        said = [e for e in entries if not isinstance(e, WorkEntry | BundleRefusedEntry)]
        if any(isinstance(e, WorkEntry) for e in entries):
            raise BundleError("部门侧发来了办件 (work sent by the department side)", bundle.seq)
        known = await session.scalars(select(FerryReply).where(FerryReply.item_id.in_([e.item for e in said])))
        replies = {r.item_id: r for r in known}
        for entry in said:
            reply = replies.get(entry.item) or replies.setdefault(entry.item, _new_reply(session, entry.item))
            _record(reply, entry, bundle.seq)
        for refused in (e for e in entries if isinstance(e, BundleRefusedEntry)):
            await self._refused_by_department(session, refused)
        return list(replies)

    async def _refuse(self, session: AsyncSession, refusal: Refusal) -> None:
        """A file from the department side not taken: operators see it on the dead-letters topic."""
        incoming = self.ledger.side.incoming
        self._dead_letter(session, f"ferry-{self.department}", refusal.reason, incoming, refusal.seq, refusal.raw)

    async def _refused_by_department(self, session: AsyncSession, refused: BundleRefusedEntry) -> None:
        sent = await session.scalar(select(FerryBundleOut.content).where(FerryBundleOut.seq == refused.seq))
        error = f"部门侧拒收第 {refused.seq} 号摆渡包 {refused.file}: {refused.reason}"
        self._dead_letter(session, f"ferry-agent-{self.department}", error, self.ledger.side.outgoing, refused.seq, sent or b"")

    def _dead_letter(self, session: AsyncSession, consumer: str, error: str, where: Path, seq: int, raw: bytes) -> None:
        letter = DeadLetter.of(
            consumer=consumer,
            error=error,
            topic=f"ferry:{where}",
            partition=-1,
            offset=seq,
            key=None,
            original=raw,
            department=self.department,
        )
        self.outbox.add(session, letter, subject=f"ferry-{self.department}"[:64])
        self._letters = True


def _new_reply(session: AsyncSession, item: str) -> FerryReply:
    reply = FerryReply(item_id=item)
    session.add(reply)
    return reply


def _record(reply: FerryReply, entry: Said, seq: int) -> None:
    """Keep the first of each thing said: a later bundle repeating it changes nothing."""
    reply.bundle_seq = seq
    if isinstance(entry, ReceiptEntry):
        reply.received_at = reply.received_at or entry.received_at
    elif isinstance(entry, AnswerEntry) and reply.action is None:
        reply.action, reply.staff_id, reply.acted_at = ACTION.dump_json(entry.action).decode(), entry.staff_id, entry.acted_at
        reply.received_at = reply.received_at or entry.acted_at
    elif isinstance(entry, AcknowledgementEntry) and reply.staff_id is None:
        reply.staff_id, reply.acted_at = entry.staff_id, entry.acknowledged_at
        reply.received_at = reply.received_at or entry.acknowledged_at
    elif isinstance(entry, RefusalEntry):
        reply.refused = reply.refused or entry.reason


async def waive_bundle(sessions: SessionFactory, seq: int, at: datetime) -> str:
    """`lianban ferry waive`: the department's bundle `seq` is given up on; later ones no longer wait for it."""
    return await waive(sessions, FerryBundleIn, seq, at)
