"""The adapter's durable inbox: every work order it has taken, until its department has answered.

A department system may be slow or offline for hours (some bridges are store-and-forward), so
work orders are kept here, the Kafka offsets committed, and the answers chased from this table.
The primary key (work order, phase, round) is what keeps a piece of work from being answered twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Index, Integer, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.migrations import Schema


class Base(DeclarativeBase):
    metadata = MetaData()


class WorkStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    DEAD = "dead"  # given up on, and dead-lettered with the cause
    CLOSED = "closed"  # the case ended without needing it: nobody asks the department system again


class InboxItem(Base):
    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_due", "status", "next_attempt_at"),
        Index("ix_work_items_waiting", "status", "received_at", "queued_at"),
    )

    item_id: Mapped[str] = mapped_column(String(120), primary_key=True, comment="work order id, phase and round")
    case_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[bytes] = mapped_column(LargeBinary)
    topic: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=WorkStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)
    result_event_id: Mapped[str | None] = mapped_column(String(64), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, comment="taken off the work topic")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, comment="taken by the department side")


SCHEMA = Schema("department_adapter", Base.metadata, Path(__file__).parents[1] / "migrations")

from services.department_adapter.adapters import ferry_tables  # noqa: E402, F401 - its tables belong to SCHEMA
