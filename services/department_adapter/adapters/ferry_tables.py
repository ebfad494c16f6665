"""The ferry's state in the adapter's own schema: what goes out, what came in, what was refused, and
what the department side has said of each piece of work (its receipt, answer or refusal, as stated)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.department_adapter.adapters.orm import Base
from shared.db import UtcDateTime
from shared.ferry.ledger import Tables
from shared.ferry.tables import BundleInColumns, BundleOutColumns, OutboundColumns, RefusedColumns


class FerryOutbound(OutboundColumns, Base):
    __tablename__ = "ferry_outbound"


class FerryBundleOut(BundleOutColumns, Base):
    __tablename__ = "ferry_bundles_out"


class FerryBundleIn(BundleInColumns, Base):
    __tablename__ = "ferry_bundles_in"


class FerryRefused(RefusedColumns, Base):
    __tablename__ = "ferry_refused"


class FerryReply(Base):
    """What the department side said of one piece of work; the dispatcher reads it when told there is news."""

    __tablename__ = "ferry_replies"

    item_id: Mapped[str] = mapped_column(String(120), primary_key=True, comment="work order id, phase and round")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, comment="taken (签收), as stated")
    action: Mapped[str | None] = mapped_column(Text, default=None, comment="the answer, JSON")
    staff_id: Mapped[str | None] = mapped_column(String(64), default=None)
    acted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None, comment="answered or acknowledged, as stated")
    refused: Mapped[str | None] = mapped_column(String(2000), default=None, comment="why the department's system refused it")
    bundle_seq: Mapped[int] = mapped_column(Integer, comment="the bundle that brought the latest of it")


TABLES = Tables(FerryOutbound, FerryBundleOut, FerryBundleIn, FerryRefused)
