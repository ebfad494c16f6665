"""Intake's own tables: each joint case as one document with a version, and an index of parts
for the departments' work queues."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.migrations import Schema


class Base(DeclarativeBase):
    metadata = MetaData()


class CaseRecord(Base):
    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64))
    applicant_id: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(32))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))


class PartRecord(Base):
    """Where each department part stands, so a department's open work is one indexed query."""

    __tablename__ = "parts"

    work_order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(32))


class MaterialRecord(Base):
    """A file received at a window, by its SHA-256 (the bytes are in the material store)."""

    __tablename__ = "materials"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # past its retention: bytes gone


class MaterialRead(Base):
    """Every read of a material: who, for which case, when (责任可溯)."""

    __tablename__ = "material_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    reader: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(UtcDateTime)


SCHEMA = Schema("intake", Base.metadata, Path(__file__).parents[1] / "migrations")
