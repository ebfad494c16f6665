"""Each department's bridge as supervisors watch it: what waits for the department side, when that side
was last heard from, and the 送达异常 open on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import BridgeState, WorkDelivery
from shared.clock import Clock
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role

SILENT_AFTER = timedelta(minutes=10)  # a bridge that has not reported for this long is shown as silent


class BridgeView(BaseModel):
    department: str
    department_name: str
    bridge: str | None = Field(description="http, ferry, database or kafka; None before its first report.")
    status: str = Field(description="ok, undelivered (送达异常) or silent (no report lately).")
    status_text: str
    reported_at: datetime | None
    waiting: int = Field(description="Work the bridge holds that the department side has not taken.")
    oldest_waiting_since: datetime | None
    last_contact_at: datetime | None
    undelivered_open: int = Field(description="送达异常 raised and not cleared yet.")
    undelivered_total: int
    detail: dict[str, Any] = Field(default_factory=dict, description="What this kind of bridge adds.")


STATUS_TEXT = {"ok": "正常", "undelivered": "送达异常", "silent": "通道未报告"}


async def bridge_views(
    session: AsyncSession, now: datetime, names: dict[str, str], undelivered_after: timedelta
) -> list[BridgeView]:
    """Every department of the center with a bridge (or a 送达异常), its latest report and its 送达异常."""
    states = {s.department: s for s in await session.scalars(select(BridgeState))}
    raised = WorkDelivery.alert_id.is_not(None)
    counts = await session.execute(
        select(WorkDelivery.department, func.count(), func.count().filter(WorkDelivery.cleared_at.is_(None)))
        .where(raised)
        .group_by(WorkDelivery.department)
    )
    undelivered = {department: (total, open_) for department, total, open_ in counts}
    views = []
    for department, name in names.items():
        state = states.get(department)
        total, open_ = undelivered.get(department, (0, 0))
        oldest = state.oldest_waiting_since if state else None
        late = oldest is not None and now - oldest > undelivered_after
        silent = state is not None and now - state.received_at > SILENT_AFTER
        status = "undelivered" if open_ or late else "silent" if silent else "ok"
        if state is None and not open_:
            continue  # no bridge reports for it, and nothing went undelivered: a department without an adapter
        views.append(
            BridgeView(
                department=department,
                department_name=name,
                bridge=state.bridge if state else None,
                status=status,
                status_text=STATUS_TEXT[status],
                reported_at=state.reported_at if state else None,
                waiting=state.waiting if state else 0,
                oldest_waiting_since=state.oldest_waiting_since if state else None,
                last_contact_at=state.last_contact_at if state else None,
                undelivered_open=open_,
                undelivered_total=total,
                detail=(state.report.get("detail") or {}) if state else {},
            )
        )
    return views


def router(
    sessions: SessionFactory, clock: Clock, access: Access, names: dict[str, str], undelivered_after: timedelta
) -> APIRouter:
    api = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
    reader = Depends(access.allow(Role.SUPERVISOR, Role.ADMIN, Role.WINDOW, Role.OPERATOR))

    @api.get("/bridges", response_model=list[BridgeView])
    async def bridges(_caller: Principal = reader) -> list[BridgeView]:
        """Every department of the center, with its bridge's latest report and its 送达异常."""
        async with sessions() as session:
            return await bridge_views(session, clock.now(), names, undelivered_after)

    return api
