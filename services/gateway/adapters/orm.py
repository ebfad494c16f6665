"""The gateway's own view of each case: its parts, their results, the reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class CaseView(Base):
    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64))
    matter_name: Mapped[str] = mapped_column(String(200))
    lead_department: Mapped[str] = mapped_column(String(64))
    applicant: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class PartView(Base):
    """A part is created by whichever comes first: the case's submission or the department's result."""

    __tablename__ = "parts"

    work_order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str] = mapped_column(String(64))
    part_code: Mapped[str] = mapped_column(String(64))
    part_name: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    document_number: Mapped[str | None] = mapped_column(String(100), default=None)
    legal_basis: Mapped[str | None] = mapped_column(String(500), default=None)
    reason: Mapped[str | None] = mapped_column(String(2000), default=None)
    handled_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
