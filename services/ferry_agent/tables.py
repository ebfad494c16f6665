"""The agent's own small database: the ferry's bookkeeping and every piece of work it received, so that a
kill -9 loses nothing and repeats nothing in effect (the department system answers a business number
the same however often it is asked)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.ferry.ledger import Tables
from shared.ferry.tables import BundleInColumns, BundleOutColumns, OutboundColumns, RefusedColumns


class Base(DeclarativeBase):
    metadata = MetaData()


class AgentOutbound(OutboundColumns, Base):
    __tablename__ = "agent_outbound"


class AgentBundleOut(BundleOutColumns, Base):
    __tablename__ = "agent_bundles_out"


class AgentBundleIn(BundleInColumns, Base):
    __tablename__ = "agent_bundles_in"


class AgentRefused(RefusedColumns, Base):
    __tablename__ = "agent_refused"


class Status(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    REFUSED = "refused"  # the department system refused the request itself


class ReceivedWork(Base):
    __tablename__ = "agent_work"
    __table_args__ = (Index("ix_agent_work_due", "status", "next_attempt_at"),)

    item_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    work: Mapped[str] = mapped_column(Text, comment="the work entry as received, JSON")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


TABLES = Tables(AgentOutbound, AgentBundleOut, AgentBundleIn, AgentRefused)
