"""The intermediate database's interface tables (前置机 + 中间库): the department's database, not the adapter's.

The adapter writes one `lb_work` row per piece of work; the department's system takes it (`taken_at`),
writes one `lb_result` row per item (UNIQUE: a second answer is refused by the database) and updates
`lb_status` on each poll. Plain types only, so the same DDL runs on PostgreSQL, SQLite, Oracle, DM and
Kingbase (docs/bridge-database.md); lists and objects travel as JSON text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import UtcDateTime

METADATA = MetaData()

work_table = Table(
    "lb_work",
    METADATA,
    Column("item_id", String(200), primary_key=True, comment="<work order>#<step>: one row per piece of work"),
    Column("work_order_id", String(100), nullable=False),
    Column("step", String(20), nullable=False, comment="review1, review2..., handle, notice"),
    Column("review_round", Integer, comment="the pre-review round; null for handling and notices"),
    Column("case_id", String(64), nullable=False),
    Column("department", String(32), nullable=False),
    Column("part_code", String(64), comment="the matter's part (null for notices)"),
    Column("applicant_name", String(200), comment="null for notices"),
    Column("applicant_id_number", String(32), comment="citizen id or unified social credit code; null for notices"),
    Column("materials", Text, nullable=False, comment="JSON [{name, url, sha256?, size?, mediaType?}], [] for notices"),
    Column("notice_id", String(64), comment="notices: the supervision alert's id"),
    Column("notice_kind", String(32), comment="notices: reminder, yellow_card, red_card, urge..."),
    Column("notice_text", Text, comment="notices: the message as staff read it"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("taken_at", UtcDateTime, comment="set by the department's system when it takes the row"),
    Column("taken_by", String(64), comment="set by the department's system: which system or worker took it"),
)
Index("lb_work_waiting", work_table.c.department, work_table.c.taken_at)

result_table = Table(
    "lb_result",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True, comment="the adapter's watermark"),
    Column("item_id", String(200), ForeignKey("lb_work.item_id"), nullable=False, unique=True),
    Column("department", String(32), nullable=False),
    Column("verdict", String(16), nullable=False, comment="ACCEPT SUPPLEMENT REFUSE PASS REJECT RECTIFY RECEIVED INVALID"),
    Column("opinion", Text, comment="the opinion; for REFUSE and REJECT the reason, for INVALID why the row is refused"),
    Column("law_basis", Text, comment="REFUSE, REJECT: the legal basis"),
    Column("missing", Text, comment="SUPPLEMENT: JSON [{name, reason}]"),
    Column("doc_no", String(100), comment="PASS: the document number"),
    Column("docs", Text, comment="PASS: JSON [names of the documents issued]"),
    Column("certificates", Text, comment="PASS: JSON [{name, sha256}] of files uploaded to the center"),
    Column("rectify_items", Text, comment="RECTIFY: JSON [what to fix]"),
    Column("handler", String(64), comment="the staff id who decided"),
    Column("decided_at", UtcDateTime, nullable=False, comment="when the department decided"),
    Column("written_at", UtcDateTime, nullable=False),
)
Index("lb_result_department", result_table.c.department, result_table.c.id)

status_table = Table(
    "lb_status",
    METADATA,
    Column("department", String(32), primary_key=True),
    Column("last_poll_at", UtcDateTime, nullable=False, comment="updated by the department's system on each poll"),
    Column("system_name", String(100), nullable=False),
)

# lb_result's columns and the keys of the department protocol's answer (as over HTTP), JSON ones apart
_TEXT_FIELDS = {"verdict": "result", "opinion": "opinion", "law_basis": "lawBasis", "doc_no": "docNo", "handler": "handler"}
_JSON_FIELDS = {"missing": "missing", "docs": "docs", "certificates": "certificates", "rectify_items": "rectifyItems"}


def answer_body(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A result row as the department protocol's answer, so that one translation serves every bridge."""
    body = {key: row[column] for column, key in _TEXT_FIELDS.items() if row[column] is not None}
    body.update({key: json.loads(row[column]) for column, key in _JSON_FIELDS.items() if row[column] is not None})
    return body


def result_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """The lb_result columns of an answer in the department protocol's terms (the simulated system's side)."""
    values = {column: body.get(key) for column, key in _TEXT_FIELDS.items()}
    values.update({column: json.dumps(body[key], ensure_ascii=False) for column, key in _JSON_FIELDS.items() if body.get(key)})
    return values


async def insert_once(connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows, leaving any whose key is already there as it is (ON CONFLICT DO NOTHING where the
    dialect has it; elsewhere one row at a time, a duplicate's integrity error swallowed)."""
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await connection.execute(postgresql.insert(table).on_conflict_do_nothing(), list(rows))
        return
    if dialect == "sqlite":
        await connection.execute(sqlite.insert(table).on_conflict_do_nothing(), list(rows))
        return
    for row in rows:
        try:
            async with connection.begin_nested():
                await connection.execute(insert(table), dict(row))
        except IntegrityError:
            continue


async def create_tables(engine: AsyncEngine) -> None:
    """The interface tables, where missing. Both sides may start at once, and two PostgreSQL sessions creating
    the same table race (one fails on the catalog's unique index): the loser finds them made on its second try."""
    for attempt in (1, 2):
        try:
            async with engine.begin() as connection:
                await connection.run_sync(METADATA.create_all)
            return
        except DBAPIError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.5)
