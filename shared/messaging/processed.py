"""Idempotent consumption: which message ids each consumer has already applied."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Insert, String, Table, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import MessagingBase, UtcDateTime


class ProcessedMessage(MessagingBase):
    """Written in the same transaction as the state change; a replay hits the primary key."""

    __tablename__ = "processed_messages"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=lambda: datetime.now(UTC), server_default=func.current_timestamp()
    )


# built once: a statement built for every batch cost as much again as running it (its construction and cache key)
_SEEN = select(ProcessedMessage.message_id).where(
    ProcessedMessage.consumer == bindparam("consumer"), ProcessedMessage.message_id.in_(bindparam("ids", expanding=True))
)
_MARK = insert(ProcessedMessage)
_TABLE = cast(Table, ProcessedMessage.__table__)
# each dialect's INSERT .. ON CONFLICT DO NOTHING RETURNING: the ids it did insert are the ones not seen before
_CLAIM: dict[str, Insert] = {
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.message_id),
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.message_id),
}


async def already_processed(session: AsyncSession, consumer: str, ids: Iterable[str]) -> set[str]:
    wanted = list(ids)
    if not wanted:
        return set()
    return set(await session.scalars(_SEEN, {"consumer": consumer, "ids": wanted}))


async def claim(session: AsyncSession, consumer: str, ids: Iterable[str]) -> set[str]:
    """The ids this consumer had not processed, marked processed now, in one statement (the check and the mark were
    two round trips for every batch every consumer applies). A replica that claims the same id at the same moment
    waits for this transaction and gets nothing back if it commits. Needs SQLite 3.35 or later (RETURNING)."""
    rows = [{"consumer": consumer, "message_id": i} for i in sorted(set(ids))]  # in one order: replicas cannot deadlock
    if not rows:
        return set()
    claimed = await session.scalars(_CLAIM[session.get_bind().dialect.name], rows)
    return set(claimed)


async def mark_processed(session: AsyncSession, consumer: str, ids: Iterable[str]) -> None:
    """One INSERT for the batch, at once (no ORM objects: this runs for every message every consumer
    applies); a replay raises on the primary key here, before the batch is applied."""
    rows = [{"consumer": consumer, "message_id": i} for i in ids]
    if rows:
        await session.execute(_MARK, rows)
