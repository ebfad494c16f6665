"""The columns each side of a ferry keeps, as mixins: the center's adapter and the department's agent
each map them into their own schema (their own table names and metadata)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UtcDateTime


class InStatus(StrEnum):
    APPLIED = "applied"
    WAIVED = "waived"  # given up on by an operator: later bundles no longer wait for it


class OutboundColumns:
    """An entry waiting for the next outgoing bundle, or the bundle it left in."""

    key: Mapped[str] = mapped_column(String(160), primary_key=True, comment="what the entry is about: queued once")
    entry: Mapped[str] = mapped_column(Text, comment="the entry, JSON")
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    bundle_seq: Mapped[int | None] = mapped_column(Integer, index=True, default=None, comment="the bundle it left in")


class BundleOutColumns:
    """A bundle sent, byte for byte: stored before its file is written, so the file can be written again."""

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer, comment="entries in it")
    content: Mapped[bytes] = mapped_column(LargeBinary, comment="the file as written")
    written_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, comment="its file written")


class BundleInColumns:
    """A bundle of the other side's applied (once, in order), or its number waived by an operator."""

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), comment="applied or waived")
    digest: Mapped[str | None] = mapped_column(String(64), default=None, comment="SHA-256 of the applied bundle's manifest")
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, comment="as its sender stated")
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="when applied or waived")


class RefusedColumns:
    """A file refused (unsigned, altered, forged, conflicting): kept once per content."""

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, comment="of the file")
    seq: Mapped[int] = mapped_column(Integer, comment="the number it claimed, -1 if none")
    file: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(2000))
    refused_at: Mapped[datetime] = mapped_column(UtcDateTime)
