"""The gateway's own view of each case, built from the case's events: what the applicant is told."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.migrations import Schema


class Base(DeclarativeBase):
    metadata = MetaData()


class ApplicantView(Base):
    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64))
    matter_name: Mapped[str] = mapped_column(String(200))
    lead_department: Mapped[str] = mapped_column(String(64))
    applicant: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    query_code_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")


class CertificateRead(Base):
    """Every fetch of an issued certificate: who (a staff id, an applicant, or the holder of the query
    code), for which case, when (责任可溯)."""

    __tablename__ = "certificate_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    reader: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(UtcDateTime)


SCHEMA = Schema("gateway", Base.metadata, Path(__file__).parents[1] / "migrations")
