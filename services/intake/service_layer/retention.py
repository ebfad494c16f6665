"""Retention: a file is kept while any case that names it is open, and for the center's retention period
after the last of them concluded; an upload no case ever named is kept as long after its upload. Past
that its bytes are removed from the store; its record (hash, size, type, who uploaded it) and every read
of it stay, so what was received and who read it remain on file (责任可溯)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncScalarResult

from services.intake.adapters.orm import CaseRecord, MaterialRecord
from services.intake.domain.lifecycle import JointCase
from shared.contracts import Approve
from shared.db import SessionFactory
from shared.materials import MaterialStore


@dataclass(frozen=True)
class Expired:
    files: int
    bytes: int


def named_files(case: JointCase) -> set[str]:
    """Every file a case names: its materials (every version) and the certificates issued with it."""
    files = {f.sha256 for p in case.parts for f in p.files}
    return files | {c.sha256 for p in case.parts if isinstance(p.decision, Approve) for c in p.decision.certificates}


async def expire(sessions: SessionFactory, store: MaterialStore, keep: timedelta, now: datetime) -> Expired:
    """Remove the bytes of every file past its retention; what was removed."""
    cutoff = now - keep
    kept: set[str] = set()  # named by a case still open or concluded within the period
    named: set[str] = set()
    async with sessions() as session:
        documents: AsyncScalarResult[dict[str, Any]] = await session.stream_scalars(
            select(CaseRecord.document), execution_options={"yield_per": 500}
        )
        async for document in documents:
            case = JointCase.model_validate(document)
            files = named_files(case)
            named |= files
            if not (case.is_final and case.concluded_at is not None and case.concluded_at < cutoff):
                kept |= files
        live = select(MaterialRecord).where(MaterialRecord.removed_at.is_(None))
        candidates = [
            m for m in await session.scalars(live) if m.sha256 not in kept and (m.sha256 in named or m.uploaded_at < cutoff)
        ]
    removed = Expired(0, 0)
    for material in candidates:
        await store.remove(material.sha256)
        async with sessions() as session, session.begin():
            record = await session.get(MaterialRecord, material.sha256)
            if record is not None:
                record.removed_at = now
        removed = Expired(removed.files + 1, removed.bytes + material.size)
    return removed
