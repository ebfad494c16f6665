"""Supervision's own tables: cases, one clock per department part, alerts, violations, timeline, and what
the console's operators act on: dead letters and complaints.

`part_clocks.next_check_at` is the due-date index: the scanner asks it for what is due, so no
timer per case lives in memory and a restart loses nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.migrations import Schema


class Base(DeclarativeBase):
    metadata = MetaData()


class CaseFile(Base):
    """A case as supervision counts it."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_applicant_matter", "applicant_id", "matter_code"),)

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64), index=True)
    lead_department: Mapped[str] = mapped_column(String(64))
    applicant_id: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    overall_days: Mapped[int] = mapped_column(Integer, default=0)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    concluded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    evaluation: Mapped[int | None] = mapped_column(Integer, default=None)
    # a part another center transferred here (转报): where from, its part there, and the status last sent home
    transferred_from: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    origin_work_order: Mapped[str | None] = mapped_column(String(100), default=None)
    status_sent: Mapped[str | None] = mapped_column(String(64), default=None)


class PartClock(Base):
    __tablename__ = "part_clocks"
    __table_args__ = (
        Index("ix_part_clocks_due", "next_check_at"),
        Index("ix_part_clocks_department_due", "department", "next_check_at"),  # a department's due parts, in order
    )

    work_order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str] = mapped_column(String(64))
    part_code: Mapped[str] = mapped_column(String(64))
    matter_code: Mapped[str] = mapped_column(String(64))
    time_limit_days: Mapped[int] = mapped_column(Integer)
    silence_means_yes: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    suspended_since: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    suspensions: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [since, until] of each ended one
    suspended_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    ladder_round: Mapped[int] = mapped_column(Integer, default=1)  # +1 per approved extension: a fresh ladder
    pending_extension_days: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # the department's signed time
    decision_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_answer_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    urges: Mapped[list[str]] = mapped_column(JSON, default=list)  # unanswered urges (ISO times)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)  # every urge, answered or not
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    yellow: Mapped[bool] = mapped_column(Boolean, default=False)
    red: Mapped[bool] = mapped_column(Boolean, default=False)
    shirking: Mapped[bool] = mapped_column(Boolean, default=False)
    deemed: Mapped[bool] = mapped_column(Boolean, default=False)
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    calendar_error: Mapped[str | None] = mapped_column(String(500), default=None, index=True)


class Alert(Base):
    """Every card, urge, shirking record and deemed approval, with its evidence and acknowledgement."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("work_order_id", "kind", "sequence"),)

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    work_order_id: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    sequence: Mapped[int] = mapped_column(Integer, default=1)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    message: Mapped[str] = mapped_column(String(1000))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), default=None)


class ViolationRecord(Base):
    __tablename__ = "violations"
    __table_args__ = (UniqueConstraint("kind", "case_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(1000))
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkDelivery(Base):
    """One piece of work sent to a department (a pre-review round, the handling) and whether the department
    side has taken it (签收, or any action on the part): what 送达异常 is raised on, and cleared by."""

    __tablename__ = "work_deliveries"
    __table_args__ = (Index("ix_work_deliveries_waiting", "taken_at", "issued_at"),)

    work_order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    work: Mapped[str] = mapped_column(String(16), primary_key=True, comment="review<round> or handle")
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, comment="None: not taken yet (or closed)")
    closed: Mapped[bool] = mapped_column(Boolean, default=False, comment="the case ended before it was taken")
    alert_id: Mapped[str | None] = mapped_column(String(64), default=None, comment="the 送达异常 raised on it")
    raised_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class BridgeState(Base):
    """The latest report of each department's bridge (adapter), as it sent it."""

    __tablename__ = "bridges"

    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    bridge: Mapped[str] = mapped_column(String(16))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="supervision's clock when the report arrived")
    waiting: Mapped[int] = mapped_column(Integer)
    oldest_waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, comment="the whole report")


class DeadLetterRecord(Base):
    """A message some consumer of the center could not handle, as the dead-letter topic carried it, and what
    an operator did with it: redriven to its topic (after a fix) or discarded, by whom, when and why."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_status_received", "status", "received_at"),)

    letter_id: Mapped[str] = mapped_column(String(64), primary_key=True, comment="the dead letter's event id")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    consumer: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(String(2000))
    topic: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(Integer)
    key: Mapped[str | None] = mapped_column(String(200), default=None)
    case_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    department: Mapped[str | None] = mapped_column(String(64), default=None)
    event_type: Mapped[str | None] = mapped_column(String(100), default=None)
    original: Mapped[str] = mapped_column(Text, comment="the original as text, its first 64 KiB")
    original_bytes: Mapped[int] = mapped_column(Integer)
    original_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open", comment="open, redriven or discarded")
    acted_by: Mapped[str | None] = mapped_column(String(64), default=None)
    acted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    act_reason: Mapped[str | None] = mapped_column(String(500), default=None)


class Complaint(Base):
    """投诉: an applicant's complaint about a case or a department, tracked to a resolution by its deadline."""

    __tablename__ = "complaints"

    complaint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    content: Mapped[str] = mapped_column(String(2000))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_via: Mapped[str] = mapped_column(String(16), comment="window, applicant or supervisor")
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, index=True)
    resolution: Mapped[str | None] = mapped_column(String(2000), default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(64), default=None)


class CenterFiguresReport(Base):
    """A child center's latest figures (汇总), as it sent them over the exchange: never read from its database."""

    __tablename__ = "center_figures"

    center: Mapped[str] = mapped_column(String(32), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)


class AwayPart(Base):
    """A part this center transferred up (转报), as the deciding center last reported it: its deadline there,
    its cards and urgings."""

    __tablename__ = "away_parts"

    work_order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    center: Mapped[str] = mapped_column(String(32))
    department_name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    yellow_cards: Mapped[int] = mapped_column(Integer, default=0)
    red_cards: Mapped[int] = mapped_column(Integer, default=0)
    urges: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TimelineEntry(Base):
    """One event on a case's timeline; sealed into the case's hash chain and the center's ledger
    (domain/chain.py) shortly after it is written, by one sealer at a time."""

    __tablename__ = "timeline"
    __table_args__ = (
        UniqueConstraint("case_id", "sequence", name="uq_timeline_case_sequence"),
        UniqueConstraint("ledger_position", name="uq_timeline_ledger_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    department: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    sequence: Mapped[int | None] = mapped_column(Integer, default=None)  # in its case's chain, from 1
    previous_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    entry_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    ledger_position: Mapped[int | None] = mapped_column(Integer, default=None)  # None: not sealed yet
    ledger_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    @classmethod
    def of_act(
        cls, case_id: str, event_type: str, at: datetime, department: str | None, summary: dict[str, Any]
    ) -> TimelineEntry:
        """An entry for what staff did in supervision itself (a dead letter redriven, a complaint filed): no
        event carried it, so it gets an id of its own."""
        fields = {"case_id": case_id, "event_type": event_type, "department": department, "summary": summary}
        return cls(event_id=str(uuid.uuid4()), occurred_at=at, **fields)


SCHEMA = Schema("supervision", Base.metadata, Path(__file__).parents[1] / "migrations")
