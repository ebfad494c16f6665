"""Connector for a department reached through an intermediate database (前置机 + 中间库).

Store and forward: asking writes the work row once and reads what the department side made of it
(not taken: InTransit; taken: NotYetDecided; answered: the answer, with the department's own decision
time). The answers are in the department's terms (the HTTP protocol's verdicts) and are translated by
the HTTP connector's functions, so both bridges mean the same. A poll loop turns new result rows (by
their id, a watermark) and newly taken rows into `news`; news only hastens the dispatcher, which asks
every pending item again anyway, so a row the watermark passes over is late, never lost.
Polling, not LISTEN/NOTIFY: it works the same on every database a department may run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.department_adapter.adapters.connector import BridgeFacts, ConnectorError, News, WorkRefused
from services.department_adapter.adapters.http_connector import attachments, decision, nonsense_is_an_error, pre_review_action
from services.department_adapter.adapters.interface_tables import (
    answer_body,
    create_tables,
    insert_once,
    result_table,
    status_table,
    work_table,
)
from services.department_adapter.domain.answer import Answer, InTransit, NotYetDecided, item_id
from shared.clock import SYSTEM_CLOCK, Clock
from shared.contracts import HandlingStarted, SupervisionAlert, WorkOrder
from shared.db import make_engine
from shared.periodic import Periodic

log = logging.getLogger(__name__)
BATCH = 1000  # result rows read, or taken rows checked, per query
DATABASE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)


class DatabaseConnector:
    """`intake_url`: the center's intake address, against which the work's file URLs resolve for the department."""

    bridge = "database"

    def __init__(
        self,
        department: str,
        url: str,
        intake_url: str = "",
        poll_seconds: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.department, self.intake_url, self.poll_seconds = department, intake_url.rstrip("/"), poll_seconds
        self.clock, self.timeout, self.engine = clock, timeout, make_engine(url, ours=False)
        self._news: News = lambda _items: None
        self.polling = Periodic(f"database bridge ({department})", poll_seconds, self._poll_in_time, wait_first=True)
        self._tables_ready, self._tables_lock = False, asyncio.Lock()
        self._watermark: int | None = None  # the last result id seen; None until first read
        self._awaited: set[str] = set()  # written, not taken when last asked: news once the department takes them
        self._last_poll_at: datetime | None = None
        self._detail: dict[str, Any] = {"last_poll_at": None, "results_read": 0, "not_taken": None}

    async def start(self, news: News) -> None:
        """Answers written from now on are news; older ones the dispatcher finds by asking."""
        self._news = news
        with contextlib.suppress(*DATABASE_ERRORS):  # the database may be down: the first poll sets it instead
            async with asyncio.timeout(self.timeout):
                await self._ensure_tables()
                async with self.engine.connect() as connection:
                    self._watermark = await self._last_result_id(connection)
        self.polling.start()

    async def pre_review(self, order: WorkOrder) -> Answer:
        body, decided_at = await self._exchange(self._work_row(order, f"review{order.round}", review_round=order.round))
        with nonsense_is_an_error():
            return Answer(pre_review_action(body), body.get("handler") or "unknown", decided_at)

    async def decide(self, work: HandlingStarted) -> Answer:
        body, decided_at = await self._exchange(self._work_row(work, "handle"))
        with nonsense_is_an_error():
            return Answer(decision(body), body.get("handler") or "unknown", decided_at)

    async def notify(self, alert: SupervisionAlert) -> str:
        row = {
            **self._row_of(alert, "notice"),
            "notice_id": alert.alert_id,
            "notice_kind": str(alert.kind),
            "notice_text": alert.message,
        }
        body, _ = await self._exchange(row)
        if body["result"] != "RECEIVED":
            raise ConnectorError(f"department system did not take the notice: {body['result']!r}")
        return str(body.get("handler") or "unknown")

    def facts(self) -> BridgeFacts:
        return BridgeFacts(self._last_poll_at, dict(self._detail))

    async def close(self) -> None:
        await self.polling.stop()
        await self.engine.dispose()

    async def _exchange(self, row: dict[str, Any]) -> tuple[dict[str, Any], datetime]:
        """Write the work row if absent, then read its result: the answer's body and decision time."""
        item = row["item_id"]
        try:
            async with asyncio.timeout(self.timeout):
                await self._ensure_tables()
                async with self.engine.begin() as connection:
                    await insert_once(connection, work_table, [row])
                    query = (
                        select(work_table.c.taken_at, result_table)
                        .select_from(work_table.outerjoin(result_table, result_table.c.item_id == work_table.c.item_id))
                        .where(work_table.c.item_id == item)
                    )
                    found = (await connection.execute(query)).mappings().one()
        except DATABASE_ERRORS as exc:
            raise ConnectorError(f"intermediate database: {type(exc).__name__}: {exc}") from exc
        if found["id"] is None:
            if found["taken_at"] is None:
                self._awaited.add(item)
                raise InTransit(item)
            self._awaited.discard(item)
            raise NotYetDecided(item, received_at=found["taken_at"])
        self._awaited.discard(item)
        if found["verdict"] == "INVALID":
            raise WorkRefused(f"department system refused the work: {found['opinion'] or 'no reason given'}")
        return answer_body(found), found["decided_at"]

    def _work_row(self, work: WorkOrder | HandlingStarted, step: str, *, review_round: int | None = None) -> dict[str, Any]:
        return {
            **self._row_of(work, step),
            "review_round": review_round,
            "part_code": work.part_code,
            "applicant_name": work.applicant.name,
            "applicant_id_number": work.applicant.id_number,
            "materials": json.dumps(attachments(work, self.intake_url), ensure_ascii=False),
        }

    def _row_of(self, work: WorkOrder | HandlingStarted | SupervisionAlert, step: str) -> dict[str, Any]:
        """The columns every kind of work has (the others are null), so that one insert takes any mix."""
        empty = {column.name: None for column in work_table.columns}
        return {
            **empty,
            "item_id": item_id(work),
            "work_order_id": work.work_order_id,
            "step": step,
            "case_id": work.case_id,
            "department": work.department,
            "materials": "[]",
            "created_at": self.clock.now(),
        }

    async def _ensure_tables(self) -> None:
        """Created when missing (an operator may have made them from the documented DDL instead)."""
        if self._tables_ready:
            return
        async with self._tables_lock:
            if not self._tables_ready:
                await create_tables(self.engine)
                self._tables_ready = True

    async def _poll_in_time(self) -> None:
        async with asyncio.timeout(self.timeout):
            await self.poll()

    async def poll(self) -> None:
        """One look at the department side: its last poll, new answers and newly taken work, as news."""
        await self._ensure_tables()
        async with self.engine.connect() as connection:
            status = (
                (await connection.execute(select(status_table).where(status_table.c.department == self.department)))
                .mappings()
                .first()
            )
            answered = await self._new_results(connection)
            taken = await self._newly_taken(connection)
            waiting = work_table.c.taken_at.is_(None) & (work_table.c.department == self.department)
            not_taken = await connection.scalar(select(func.count()).select_from(work_table).where(waiting))
        if status is not None:
            self._last_poll_at = status["last_poll_at"]
            self._detail["system"] = status["system_name"]
        self._detail.update(
            last_poll_at=self._last_poll_at.isoformat() if self._last_poll_at else None,
            results_read=self._detail["results_read"] + len(answered),
            not_taken=not_taken,
        )
        self._awaited.difference_update(taken)
        if answered or taken:
            self._news([*answered, *taken])

    async def _new_results(self, connection: AsyncConnection) -> list[str]:
        if self._watermark is None:
            self._watermark = await self._last_result_id(connection)
            return []
        items: list[str] = []
        while True:
            rows = (
                await connection.execute(
                    select(result_table.c.id, result_table.c.item_id)
                    .where(result_table.c.department == self.department, result_table.c.id > self._watermark)
                    .order_by(result_table.c.id)
                    .limit(BATCH)
                )
            ).all()
            items.extend(r.item_id for r in rows)
            if rows:
                self._watermark = rows[-1].id
            if len(rows) < BATCH:
                return items

    async def _newly_taken(self, connection: AsyncConnection) -> list[str]:
        awaited, taken = list(self._awaited), list[str]()
        for start in range(0, len(awaited), BATCH):
            chunk = awaited[start : start + BATCH]
            query = select(work_table.c.item_id).where(work_table.c.item_id.in_(chunk), work_table.c.taken_at.is_not(None))
            taken.extend(await connection.scalars(query))
        return taken

    async def _last_result_id(self, connection: AsyncConnection) -> int:
        query = select(func.coalesce(func.max(result_table.c.id), 0)).where(result_table.c.department == self.department)
        return int(await connection.scalar(query) or 0)
