"""汇总: this center and the centers below it, side by side (a city's districts), from what each sent over the
exchange; for the console's readers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.supervision.entrypoints.console_api import CONSOLE_READERS
from services.supervision.service_layer.rollup import side_by_side
from shared.centers import Centers
from shared.clock import Clock
from shared.db import SessionFactory
from shared.identity import Access, Principal
from shared.workdays import WorkingCalendar


class CenterRow(BaseModel):
    center: str
    name: str = Field(description="The center's Chinese name.")
    level: str | None = Field(description="city, district or town.")
    division: str | None = Field(description="区划代码.")
    as_of: datetime | None = Field(description="When the figures were computed (sent, for a child); none: never reported.")
    figures: dict[str, Any] | None


def router(
    sessions: SessionFactory, clock: Clock, access: Access, calendar: WorkingCalendar, center: str, centers: Centers
) -> APIRouter:
    api = APIRouter(prefix="/api/v1/supervision", tags=["console"])
    reader = Depends(access.allow(*CONSOLE_READERS))

    @api.get("/centers", response_model=list[CenterRow])
    async def read_centers(_caller: Principal = reader) -> list[dict[str, Any]]:
        """This center's figures and each child center's latest (received, accepted, concluded, on-time rate,
        overdue parts, cards, urges, complaints), best first; a child that never reported comes last."""
        async with sessions() as session:
            return await side_by_side(session, center, centers, calendar, clock.now())

    return api
