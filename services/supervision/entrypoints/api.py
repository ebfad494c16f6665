"""HTTP for supervisors: a case's timeline and deadlines, what is overdue, and the demo clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import select

from services.supervision.adapters.orm import PartClock, TimelineEntry
from services.supervision.domain.deadlines import STATE_TEXT, ClockState, clock_state
from shared.clock import Clock, ManualClock
from shared.db import SessionFactory


class PartDeadline(BaseModel):
    work_order_id: str
    case_id: str
    department: str
    part_code: str
    time_limit_days: int | None
    started_at: datetime | None
    deadline: datetime | None
    decided_at: datetime | None
    state: ClockState
    state_text: str


class TimelineItem(BaseModel):
    event_id: str
    event_type: str
    occurred_at: datetime
    department: str | None
    summary: dict[str, Any]


class CaseSupervision(BaseModel):
    case_id: str
    timeline: list[TimelineItem]
    parts: list[PartDeadline]


class ClockSetting(BaseModel):
    now: datetime


def router(sessions: SessionFactory, clock: Clock) -> APIRouter:
    api = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])

    def deadline_view(part: PartClock, now: datetime) -> PartDeadline:
        state = clock_state(part.deadline, part.decided_at, now)
        return PartDeadline(**{k: getattr(part, k) for k in PartDeadline.model_fields if hasattr(part, k)},
                            state=state, state_text=STATE_TEXT[state])

    @api.get("/cases/{case_id}", response_model=CaseSupervision)
    async def case_supervision(case_id: str) -> CaseSupervision:
        """Every event of the case in order, and each part's deadline in working days."""
        async with sessions() as session:
            timeline = list(await session.scalars(
                select(TimelineEntry).where(TimelineEntry.case_id == case_id)
                .order_by(TimelineEntry.occurred_at, TimelineEntry.id)))
            parts = list(await session.scalars(
                select(PartClock).where(PartClock.case_id == case_id).order_by(PartClock.work_order_id)))
        if not timeline and not parts:
            raise HTTPException(404, f"监察系统中未找到该办件 case {case_id} is not known to supervision")
        now = clock.now()
        return CaseSupervision(case_id=case_id,
                               timeline=[TimelineItem.model_validate(t, from_attributes=True) for t in timeline],
                               parts=[deadline_view(p, now) for p in parts])

    @api.get("/overdue", response_model=list[PartDeadline])
    async def overdue(limit: int = 500) -> list[PartDeadline]:
        """Parts past their deadline with no decision yet, most overdue first."""
        now = clock.now()
        async with sessions() as session:
            parts = await session.scalars(
                select(PartClock).where(PartClock.decided_at.is_(None), PartClock.deadline < now)
                .order_by(PartClock.deadline).limit(min(limit, 5000)))
            return [deadline_view(p, now) for p in parts]

    @api.get("/clock", response_model=ClockSetting)
    async def read_clock() -> ClockSetting:
        """The time supervision is counting with."""
        return ClockSetting(now=clock.now())

    @api.post("/clock", response_model=ClockSetting)
    async def set_clock(setting: ClockSetting) -> ClockSetting:
        """Move the manual clock (only when the service runs with clock=manual, for tests and demos)."""
        if not isinstance(clock, ManualClock):
            raise HTTPException(409, "时钟由系统时间驱动 this supervision runs on the system clock")
        try:
            clock.set(setting.now)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return ClockSetting(now=clock.now())

    return api
