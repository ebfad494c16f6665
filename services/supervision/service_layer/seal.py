"""Sealing the timeline: every entry written (by the event consumer, the scanner or an urge) joins its
case's hash chain and the center's ledger, in the order it is sealed. One sealer at a time (a
PostgreSQL advisory lock across replicas), so both chains stay single lines."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import TimelineEntry
from services.supervision.domain.chain import (
    GENESIS,
    Anchor,
    Link,
    anchor_problems,
    broken_links,
    entry_hash,
    instant,
    ledger_hash,
)
from services.supervision.domain.signatures import signature_problem, signed_event
from shared.db import SessionFactory, plans_kept
from shared.signing import KeyRegistry
from shared.wakeup import woken_or_idle

log = logging.getLogger(__name__)
SEALER_LOCK = 7_442_001  # pg_advisory_xact_lock key: one sealer of a center's ledger at a time


# what sealing reads of an unsealed entry: the hashed fields, and the id to write the seal back under
UNSEALED = (
    TimelineEntry.id,
    TimelineEntry.case_id,
    TimelineEntry.event_id,
    TimelineEntry.event_type,
    TimelineEntry.occurred_at,
    TimelineEntry.department,
    TimelineEntry.summary,
)


def hashed_fields(entry: TimelineEntry | Row[Any], sequence: int, previous_hash: str) -> dict[str, Any]:
    return {
        "case_id": entry.case_id,
        "sequence": sequence,
        "event_id": entry.event_id,
        "event_type": entry.event_type,
        "occurred_at": instant(entry.occurred_at),
        "department": entry.department,
        "summary": entry.summary,
        "previous_hash": previous_hash,
    }


def link_of(entry: TimelineEntry) -> Link:
    """A sealed entry as the chains check it (a NULL where a seal should be reads as a changed entry)."""
    fields = hashed_fields(entry, entry.sequence or 0, entry.previous_hash or "")
    return Link(fields, entry.entry_hash or "", entry.ledger_position or 0, entry.ledger_hash or "")


class Sealer:
    def __init__(self, sessions: SessionFactory, *, interval: float = 1.0, batch_size: int = 1000) -> None:
        self.sessions, self.interval, self.batch_size = sessions, interval, batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def seal(self) -> int:
        """Seal the oldest unsealed entries (at most a batch); how many were sealed. Read and written as
        plain rows (one bulk update by id): no entry objects to build and track for a write-once seal."""
        async with self.sessions() as session, session.begin():
            if not await _exclusive(session):
                return 0
            entries = (
                await session.execute(
                    select(*UNSEALED)
                    .where(TimelineEntry.ledger_position.is_(None))
                    .order_by(TimelineEntry.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not entries:
                return 0
            position, previous_ledger = await _ledger_head(session)
            heads = await _case_heads(session, {e.case_id for e in entries})
            seals: list[dict[str, Any]] = []
            for entry in entries:
                sequence, previous = heads.get(entry.case_id, (0, GENESIS))
                digest = entry_hash(hashed_fields(entry, sequence + 1, previous))
                position, previous_ledger = position + 1, ledger_hash(previous_ledger, digest)
                seals.append(
                    {
                        "id": entry.id,
                        "sequence": sequence + 1,
                        "previous_hash": previous,
                        "entry_hash": digest,
                        "ledger_position": position,
                        "ledger_hash": previous_ledger,
                    }
                )
                heads[entry.case_id] = (sequence + 1, digest)
            await plans_kept(session)
            await session.execute(update(TimelineEntry), seals)  # one executemany by primary key
            return len(entries)

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="seal-timeline")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                while await self.seal() == self.batch_size:
                    pass
            except Exception:
                log.exception("sealing the timeline failed; retrying")
            await woken_or_idle(self._wake, self.interval)


async def _exclusive(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: one process, one connection
    return bool(await session.scalar(text(f"SELECT pg_try_advisory_xact_lock({SEALER_LOCK})")))


async def ledger_head(sessions: SessionFactory) -> tuple[int, str]:
    """The ledger's last sealed position and hash: the anchor to copy out of the database."""
    async with sessions() as session:
        return await _ledger_head(session)


async def _ledger_head(session: AsyncSession) -> tuple[int, str]:
    row = (
        await session.execute(
            select(TimelineEntry.ledger_position, TimelineEntry.ledger_hash)
            .where(TimelineEntry.ledger_position.is_not(None))
            .order_by(TimelineEntry.ledger_position.desc())
            .limit(1)
        )
    ).first()
    return (int(row[0] or 0), str(row[1])) if row else (0, GENESIS)


async def _case_heads(session: AsyncSession, cases: set[str]) -> dict[str, tuple[int, str]]:
    last = (
        select(TimelineEntry.case_id, func.max(TimelineEntry.sequence).label("sequence"))
        .where(TimelineEntry.case_id.in_(cases), TimelineEntry.sequence.is_not(None))
        .group_by(TimelineEntry.case_id)
        .subquery()
    )
    rows = await session.execute(
        select(TimelineEntry.case_id, TimelineEntry.sequence, TimelineEntry.entry_hash).join(
            last, (TimelineEntry.case_id == last.c.case_id) & (TimelineEntry.sequence == last.c.sequence)
        )
    )
    return {case: (int(sequence or 0), str(digest)) for case, sequence, digest in rows}


@dataclass(frozen=True)
class SealedRecord:
    """One case's sealed entries in sequence, the ledger hash before each, how many wait to be sealed,
    and the ledger's head: what a third party needs to verify the case offline."""

    links: list[Link]
    ledger_previous: dict[int, str]
    unsealed: int
    head: tuple[int, str]


async def sealed_record(session: AsyncSession, case_id: str) -> SealedRecord:
    entries = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.case_id == case_id, TimelineEntry.ledger_position.is_not(None))
        .order_by(TimelineEntry.sequence)
    )
    links = [link_of(e) for e in entries]
    unsealed = await session.scalar(
        select(func.count()).where(TimelineEntry.case_id == case_id, TimelineEntry.ledger_position.is_(None))
    )
    before = await session.execute(
        select(TimelineEntry.ledger_position, TimelineEntry.ledger_hash).where(
            TimelineEntry.ledger_position.in_([link.ledger_position - 1 for link in links])
        )
    )
    previous = {int(position or 0): str(digest) for position, digest in before}
    return SealedRecord(links, previous, int(unsealed or 0), await _ledger_head(session))


@dataclass(frozen=True)
class AuditReport:
    sealed: int
    waiting: int  # written, not sealed yet: counted, not judged
    problems: list[str]  # every broken link and every signature that does not hold, in ledger order
    signed: int  # entries carrying a department's signed action
    signatures_checked: bool  # False: no key registry to check them against

    @property
    def intact(self) -> bool:
        return not self.problems


async def audit(
    sessions: SessionFactory, registry: KeyRegistry | None = None, anchors: Iterable[Anchor] = (), chunk: int = 1000
) -> AuditReport:
    """The whole ledger read in order: its chains recomputed, every anchor copied out earlier found again
    and, given the center's key registry, every signed entry's signature checked again."""
    async with sessions() as session:
        waiting = await session.scalar(select(func.count()).where(TimelineEntry.ledger_position.is_(None)))
        stream = await session.stream_scalars(
            select(TimelineEntry).where(TimelineEntry.ledger_position.is_not(None)).order_by(TimelineEntry.ledger_position),
            execution_options={"yield_per": chunk},
        )
        links = [link_of(entry) async for entry in stream]
    problems = broken_links(links) + anchor_problems(links, anchors)
    signed = [link for link in links if signed_event(link.fields) is not None]
    if registry is not None:
        problems += [p for link in signed if (p := signature_problem(link.fields, registry))]
    return AuditReport(len(links), int(waiting or 0), problems, len(signed), registry is not None)
