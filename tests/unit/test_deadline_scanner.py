"""An undecided part past its deadline raises one overdue alert, even across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from services.supervision.adapters.orm import Base, PartClock
from services.supervision.service_layer.scan import DeadlineScanner
from shared.clock import ManualClock
from shared.contracts import CloudEvent, OverdueAlert
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from tests.unit.helpers import sqlite_sessions

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


async def test_overdue_parts_are_alerted_once_in_bounded_batches(tmp_path: Path) -> None:
    sessions = await sqlite_sessions(tmp_path, Base.metadata)
    async with sessions() as session, session.begin():
        for i in range(5):
            session.add(PartClock(work_order_id=f"LB{i}-tax", case_id=f"LB{i}", department="tax",
                                  part_code="TAX-REG", time_limit_days=1, started_at=START,
                                  deadline=START + timedelta(days=i)))
        session.add(PartClock(work_order_id="LBdone-tax", case_id="LBdone", department="tax", part_code="TAX-REG",
                              deadline=START, decided_at=START))
    clock = ManualClock(START + timedelta(days=2, hours=1))

    def scanner() -> DeadlineScanner:  # a restart builds a new one on the same database
        return DeadlineScanner(sessions, Outbox("/test"), Topics("test"), clock, lambda: None,
                               batch_size=2, interval=1)

    assert await scanner().scan_once() == 2
    assert await scanner().scan_once() == 1
    assert await scanner().scan_once() == 0
    clock.set(START + timedelta(days=10))
    assert await scanner().scan_once() == 2

    async with sessions() as session:
        rows = list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    alerts = [CloudEvent.from_bytes(r.payload).payload() for r in rows]
    assert all(isinstance(a, OverdueAlert) for a in alerts)
    assert sorted(a.work_order_id for a in alerts) == [f"LB{i}-tax" for i in range(5)]  # type: ignore[attr-defined]
    assert {r.topic for r in rows} == {"lianban.test.supervision.alerts"}
