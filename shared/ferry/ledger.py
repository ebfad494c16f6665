"""Both ends of a ferry do the same bookkeeping: queue entries, write numbered bundles, read the other
side's bundles in order and exactly once, hold what comes early, refuse what is not genuine. What the
entries mean is the caller's (`apply`, `refuse`)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock
from shared.db import SessionFactory
from shared.ferry import bundle
from shared.ferry.bundle import Bundle, BundleError
from shared.ferry.receiver import Verdict, classify, expecting, missing
from shared.ferry.tables import BundleInColumns, BundleOutColumns, InStatus, OutboundColumns, RefusedColumns
from shared.signing import KeyRegistry, Signer

log = logging.getLogger(__name__)
APPLIED_DIR, REFUSED_DIR = "applied", "refused"


@dataclass(frozen=True)
class Tables:
    outbound: type[OutboundColumns]
    bundles_out: type[BundleOutColumns]
    bundles_in: type[BundleInColumns]
    refused: type[RefusedColumns]


@dataclass(frozen=True)
class Refusal:
    seq: int  # -1 when it claims none
    file: str
    reason: str
    raw: bytes


@dataclass(frozen=True)
class Side:
    """Who writes to whom over one ferry, and whose keys sign both ways (the department's, in the registry)."""

    me: str  # e.g. center:demo/fire
    peer: str  # e.g. department:fire
    department: str
    outgoing: Path
    incoming: Path


@dataclass
class LedgerState:
    """What a bridge report says of the ferry."""

    last_in: dict[str, Any] | None = None
    last_out: dict[str, Any] | None = None
    expecting: int = 1
    held: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    refused: int = 0
    last_refusal: str | None = None

    def detail(self) -> dict[str, Any]:
        return {
            "last_bundle_in": self.last_in,
            "last_bundle_out": self.last_out,
            "expecting": self.expecting,
            "held": self.held,
            "missing": self.missing,
            "refused": {"count": self.refused, "last_reason": self.last_refusal},
        }


Apply = Callable[[AsyncSession, Bundle], Awaitable[list[str]]]  # the news it brings: item ids
Refuse = Callable[[AsyncSession, Refusal], Awaitable[None]]


class Ledger:
    def __init__(
        self,
        tables: Tables,
        sessions: SessionFactory,
        side: Side,
        signer: Signer,
        registry: KeyRegistry,
        clock: Clock,
        max_entries: int = 2000,
    ) -> None:
        self.tables, self.sessions, self.side = tables, sessions, side
        self.signer, self.registry, self.clock, self.max_entries = signer, registry, clock, max_entries
        self.state = LedgerState()

    async def queue(self, session: AsyncSession, key: str, entry: dict[str, Any]) -> bool:
        """Queue an entry for the next bundle, once per key; False if it was queued already."""
        outbound = self.tables.outbound
        if await session.scalar(select(outbound.key).where(outbound.key == key)) is not None:
            return False
        await session.execute(
            insert(outbound).values(key=key, entry=json.dumps(entry, ensure_ascii=False), queued_at=self.clock.now())
        )
        return True

    async def write_bundle(self) -> int | None:
        """Queued entries into the next numbered bundle: stored with its number first, then its file."""
        outbound, out = self.tables.outbound, self.tables.bundles_out
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbound.key, outbound.entry)
                    .where(outbound.bundle_seq.is_(None))
                    .order_by(outbound.queued_at, outbound.key)
                    .limit(self.max_entries)
                )
            ).all()
            if not rows:
                return None
            seq = (await session.scalar(select(func.max(out.seq))) or 0) + 1
            now = self.clock.now()
            raw = bundle.encode(
                self.signer,
                sender=self.side.me,
                recipient=self.side.peer,
                seq=seq,
                created_at=now,
                entries=[json.loads(r.entry) for r in rows],
            )
            await session.execute(insert(out).values(seq=seq, created_at=now, count=len(rows), content=raw))
            await session.execute(update(outbound).where(outbound.key.in_([r.key for r in rows])).values(bundle_seq=seq))
        await self._write(seq, raw)
        return seq

    async def write_unwritten(self) -> list[int]:
        """Bundles stored but not known written (a crash between the two): their files, byte-identical."""
        out = self.tables.bundles_out
        async with self.sessions() as session:
            rows = (await session.execute(select(out.seq, out.content).where(out.written_at.is_(None)).order_by(out.seq))).all()
        for row in rows:
            await self._write(row.seq, row.content)
        return [r.seq for r in rows]

    async def rewrite(self, seq: int) -> Path:
        """Write a sent bundle's file again (the ferry lost it): the same bytes, so the receiver takes it once."""
        async with self.sessions() as session:
            raw = await session.scalar(select(self.tables.bundles_out.content).where(self.tables.bundles_out.seq == seq))
        if raw is None:
            raise LookupError(f"没有第 {seq} 号摆渡包 (no bundle {seq} was sent)")
        return await self._write(seq, raw)

    async def _write(self, seq: int, raw: bytes) -> Path:
        path = bundle.write_atomic(self.side.outgoing, bundle.file_name(self.side.me, seq), raw)
        out = self.tables.bundles_out
        async with self.sessions() as session, session.begin():
            await session.execute(update(out).where(out.seq == seq).values(written_at=self.clock.now()))
        return path

    async def read_incoming(self, apply: Apply, refuse: Refuse) -> list[str]:
        """Every bundle in `incoming`, in sequence: applied once, held while a number before it is missing,
        refused when not genuine. Returns the news the applied ones brought."""
        found: list[tuple[Path, bytes, Bundle]] = []
        for path in sorted(self.side.incoming.glob(f"*{bundle.SUFFIX}")):
            raw = path.read_bytes()
            try:
                found.append((path, raw, self._decode(raw)))
            except BundleError as exc:
                await self._refuse(path, raw, exc.reason, exc.seq, refuse)
        news: list[str] = []
        held: list[int] = []
        known, expected = await self._known([b.seq for _, _, b in found])
        for path, raw, received in sorted(found, key=lambda f: f[2].seq):
            verdict = classify(received.seq, received.digest, expected, known)
            if verdict in (Verdict.APPLY, Verdict.LATE):
                try:
                    news += await self._apply(received, verdict, apply)
                except BundleError as exc:
                    await self._refuse(path, raw, exc.reason, received.seq, refuse)
                    continue
                known[received.seq] = received.digest
                expected = expecting(known, start=expected)
                _move(path, APPLIED_DIR)
            elif verdict == Verdict.DUPLICATE:
                _move(path, APPLIED_DIR)
            elif verdict == Verdict.CONFLICT:
                reason = f"序号 {received.seq} 已应用另一内容的摆渡包：疑似篡改 (a different bundle {received.seq} was applied)"
                await self._refuse(path, raw, reason, received.seq, refuse)
            else:
                held.append(received.seq)
        await self.refresh(held, expected)
        return news

    def _decode(self, raw: bytes) -> Bundle:
        side = self.side
        return bundle.decode(raw, self.registry, side.department, sender=side.peer, recipient=side.me)

    async def _known(self, seqs: list[int]) -> tuple[dict[int, str | None], int]:
        """What was applied (digest) or waived (None) of these numbers and of any after the next expected."""
        table = self.tables.bundles_in
        async with self.sessions() as session:
            count, top = (await session.execute(select(func.count(), func.max(table.seq)))).one()
            contiguous = count == (top or 0)  # the usual case: no waiver left a hole
            expected = (top or 0) + 1 if contiguous else expecting(await session.scalars(select(table.seq)))
            rows = await session.execute(
                select(table.seq, table.digest, table.status).where((table.seq >= expected) | table.seq.in_(seqs))
            )
            known = {r.seq: (r.digest if r.status == InStatus.APPLIED else None) for r in rows}
        return known, expected

    async def _apply(self, received: Bundle, verdict: Verdict, apply: Apply) -> list[str]:
        table = self.tables.bundles_in
        values = {"status": InStatus.APPLIED, "digest": received.digest, "created_at": received.created_at}
        values["at"] = self.clock.now()
        async with self.sessions() as session, session.begin():
            news = await apply(session, received)
            if verdict == Verdict.LATE:
                await session.execute(update(table).where(table.seq == received.seq).values(**values))
            else:
                await session.execute(insert(table).values(seq=received.seq, **values))
        log.info("ferry bundle %s from %s applied (%d entries)", received.seq, self.side.peer, len(received.entries))
        return news

    async def _refuse(self, path: Path, raw: bytes, reason: str, seq: int | None, refuse: Refuse) -> None:
        """Recorded once per content, with the caller's report of it in the same transaction; the file set aside."""
        digest, claimed = hashlib.sha256(raw).hexdigest(), seq if seq is not None else bundle.seq_of(path.name) or -1
        table = self.tables.refused
        async with self.sessions() as session, session.begin():
            if await session.scalar(select(table.sha256).where(table.sha256 == digest)) is None:
                log.warning("ferry file %s refused: %s", path.name, reason)
                values = {"sha256": digest, "seq": claimed, "file": path.name[:255], "reason": reason[:2000]}
                await session.execute(insert(table).values(**values, refused_at=self.clock.now()))
                await refuse(session, Refusal(claimed, path.name, reason, raw))
        _move(path, REFUSED_DIR, f".{digest[:12]}")

    async def refresh(self, held: list[int] | None = None, expected: int | None = None) -> LedgerState:
        """The state a bridge report shows, from the database (an operator's waiver included); `expected`, when
        the caller has just read it."""
        inb, out, refused = self.tables.bundles_in, self.tables.bundles_out, self.tables.refused
        held = sorted(held if held is not None else self.state.held)
        async with self.sessions() as session:
            applied = select(inb.seq, inb.created_at, inb.at).where(inb.status == InStatus.APPLIED)
            last_in = (await session.execute(applied.order_by(inb.seq.desc()).limit(1))).first()
            last_out = (await session.execute(select(out.seq, out.created_at).order_by(out.seq.desc()).limit(1))).first()
            count = await session.scalar(select(func.count()).select_from(refused)) or 0
            reason = await session.scalar(select(refused.reason).order_by(refused.refused_at.desc()).limit(1))
        if expected is None:
            _, expected = await self._known([])
        held = [s for s in held if s > expected]
        self.state = LedgerState(
            last_in={"seq": last_in.seq, "created_at": _iso(last_in.created_at), "applied_at": _iso(last_in.at)}
            if last_in
            else None,
            last_out={"seq": last_out.seq, "at": _iso(last_out.created_at)} if last_out else None,
            expecting=expected,
            held=held,
            missing=missing(expected, held),
            refused=count,
            last_refusal=reason,
        )
        return self.state

    def last_applied_at(self) -> datetime | None:
        return datetime.fromisoformat(self.state.last_in["applied_at"]) if self.state.last_in else None


async def waive(sessions: SessionFactory, table: type[BundleInColumns], seq: int, at: datetime) -> str:
    """An operator gives up on a missing bundle: later ones no longer wait for it (if it comes after all,
    it is still applied: its entries are idempotent)."""
    async with sessions() as session, session.begin():
        status = await session.scalar(select(table.status).where(table.seq == seq))
        if status == InStatus.APPLIED:
            raise ValueError(f"第 {seq} 号摆渡包已应用，无需豁免 (bundle {seq} was applied)")
        if status is None:
            await session.execute(insert(table).values(seq=seq, status=InStatus.WAIVED, at=at))
    return f"第 {seq} 号摆渡包已豁免 (bundle {seq} waived): later bundles no longer wait for it"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _move(path: Path, directory: str, suffix: str = "") -> None:
    """Set a processed file aside, so the next read does not open it again."""
    target = path.parent / directory
    target.mkdir(exist_ok=True)
    os.replace(path, target / f"{path.name}{suffix}")
