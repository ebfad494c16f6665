"""Idempotent consumption: which message ids each consumer has already applied."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import String, bindparam, func, insert, select
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


async def already_processed(session: AsyncSession, consumer: str, ids: Iterable[str]) -> set[str]:
    wanted = list(ids)
    if not wanted:
        return set()
    return set(await session.scalars(_SEEN, {"consumer": consumer, "ids": wanted}))


async def mark_processed(session: AsyncSession, consumer: str, ids: Iterable[str]) -> None:
    """One INSERT for the batch, at once (no ORM objects: this runs for every message every consumer
    applies); a replay raises on the primary key here, before the batch is applied."""
    rows = [{"consumer": consumer, "message_id": i} for i in ids]
    if rows:
        await session.execute(_MARK, rows)
