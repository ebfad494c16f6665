"""A department's own system of the intermediate-database kind (前置机 + 中间库), simulated.

It polls the work table, takes each new row (taken_at), updates its status row, decides as the HTTP
simulator does (its `Rule`s, its decisions, its file checks) and writes one result row per item. It
answers only items without a result, and the result table's UNIQUE item id refuses a second answer,
so a restart never answers twice. `python -m deploy.simulators.database_system`; settings from
`LIANBAN_SIM_*`, plus `LIANBAN_SIM_INTERFACE_DATABASE_URL`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import RowMapping, func, select, update

from deploy.simulators.department_system import (
    Attachment,
    FileCheck,
    Rule,
    SimulatorSettings,
    decision,
    pre_review,
)
from services.department_adapter.adapters.interface_tables import (
    create_tables,
    insert_once,
    result_table,
    result_values,
    status_table,
    work_table,
)
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import make_engine

log = logging.getLogger(__name__)
BATCH = 1000  # rows answered per poll


class DatabaseSimulatorSettings(SimulatorSettings):
    interface_database_url: str
    poll_seconds: float = 0.5


class DatabaseSystem:
    def __init__(self, settings: DatabaseSimulatorSettings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings, self.clock, self.department = settings, clock, settings.department
        self.name = f"{settings.department}-approval-system"
        self.handler = f"{settings.department.upper()}-STAFF-01"
        self.engine = make_engine(settings.interface_database_url, ours=False)
        self.default = Rule(decision=settings.decision, delay_seconds=settings.delay_seconds)
        self.rules: dict[str, Rule] = {}
        self.files = FileCheck(settings)
        self.serial = itertools.count(1)
        self.taken = 0

    async def create_tables(self) -> None:
        await create_tables(self.engine)

    async def poll(self) -> None:
        """One round of the system's loop: say it polled, take what is new, answer what is due."""
        await self.report_poll()
        await self.take()
        await self.answer()

    async def report_poll(self) -> None:
        values = {"last_poll_at": self.clock.now(), "system_name": self.name}
        async with self.engine.begin() as connection:
            mine = status_table.c.department == self.department
            if (await connection.execute(update(status_table).where(mine).values(values))).rowcount == 0:
                await insert_once(connection, status_table, [{"department": self.department, **values}])

    async def take(self) -> int:
        """签收: every row not taken yet, in one statement (no read-then-write for two systems to race on)."""
        waiting = (work_table.c.department == self.department) & work_table.c.taken_at.is_(None)
        async with self.engine.begin() as connection:
            taken = await connection.execute(
                update(work_table).where(waiting).values(taken_at=self.clock.now(), taken_by=self.name)
            )
        self.taken += taken.rowcount
        return taken.rowcount

    async def answer(self) -> int:
        """One result for each taken item without one whose delay has passed; returns how many were written."""
        unanswered = (
            select(work_table)
            .select_from(work_table.outerjoin(result_table, result_table.c.item_id == work_table.c.item_id))
            .where(work_table.c.department == self.department, work_table.c.taken_at.is_not(None), result_table.c.id.is_(None))
            .order_by(work_table.c.taken_at)
            .limit(BATCH)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(unanswered)).mappings().all()
        now, results = self.clock.now(), []
        for row in rows:
            rule = self.rules.get(row["applicant_id_number"] or "", self.default)
            if row["taken_at"] + timedelta(seconds=rule.delay_seconds) > now:
                continue  # still deciding
            body = await self._decide(row, rule)
            if body is not None:
                values = {**result_values({"handler": self.handler, **body}), "decided_at": now, "written_at": now}
                results.append({"item_id": row["item_id"], "department": self.department, **values})
        async with self.engine.begin() as connection:
            await insert_once(connection, result_table, results)  # one answer per item, even beside another instance
        return len(results)

    async def _decide(self, row: RowMapping, rule: Rule) -> dict[str, Any] | None:
        """The department's verdict in its own terms; None while it stays silent."""
        if row["step"] == "notice":
            return {"result": "RECEIVED"}
        if row["step"] == "handle":
            issued = await self.files.issue(row["case_id"]) if rule.decision == "approve" else []
            body = decision(self.department, rule, next(self.serial), issued)
            return None if body["result"] == "PENDING" else body
        attachments = [Attachment(**a) for a in json.loads(row["materials"])]
        if unreadable := await self.files.unreadable(attachments):
            return {"result": "SUPPLEMENT", "missing": unreadable}
        return pre_review(self.department, rule, row["review_round"] or 1, attachments)

    async def stats(self) -> dict[str, int]:
        mine = result_table.c.department == self.department
        async with self.engine.connect() as connection:
            distinct = await connection.scalar(select(func.count()).select_from(result_table).where(mine)) or 0
        files = self.files
        return {"received": self.taken, "distinct": distinct, "files_checked": files.checked, "files_failed": files.failed}

    async def run(self) -> None:
        while True:
            try:
                await self.create_tables()
                break
            except Exception as exc:
                log.warning("the intermediate database is not reachable yet: %s", exc)
                await asyncio.sleep(self.settings.poll_seconds)
        while True:
            try:
                await self.poll()
            except Exception:
                log.exception("polling the intermediate database failed; polling again")
            await asyncio.sleep(self.settings.poll_seconds)


def build(settings: DatabaseSimulatorSettings, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    system = DatabaseSystem(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(system.run(), name="database-system")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await system.engine.dispose()

    app = FastAPI(title=f"{settings.department} department system, intermediate database (simulated)", lifespan=lifespan)
    app.state.system = system

    @app.put("/gov/v1/rules/{cert_no}")
    async def set_rule(cert_no: str, rule: Rule) -> Rule:
        system.rules[cert_no] = rule
        return rule

    @app.get("/gov/v1/stats")
    async def stats() -> dict[str, int]:
        return await system.stats()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    settings = DatabaseSimulatorSettings()  # from the environment
    uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
