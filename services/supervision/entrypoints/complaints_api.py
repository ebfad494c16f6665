"""HTTP for complaints (投诉): the window, the applicant (their own cases only) or a supervisor files one;
supervisors track them to a resolution before their deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from services.supervision.adapters.orm import Complaint
from services.supervision.entrypoints.console_api import CONSOLE_READERS
from services.supervision.service_layer import complaints
from shared.clock import Clock
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role, not_found
from shared.workdays import WorkingCalendar


class ComplaintIn(BaseModel):
    case_id: str = Field(min_length=1, max_length=64)
    department: str | None = Field(default=None, max_length=64, description="The department complained about, if one.")
    content: str = Field(min_length=1, max_length=2000)


class Resolution(BaseModel):
    resolution: str = Field(min_length=1, max_length=2000)


class ComplaintView(BaseModel):
    complaint_id: str
    case_id: str
    department: str | None
    department_name: str | None
    content: str
    filed_by: str
    filed_via: str
    filed_at: datetime
    due_at: datetime
    overdue: bool
    resolved_at: datetime | None
    resolution: str | None
    resolved_by: str | None


def router(
    sessions: SessionFactory, clock: Clock, access: Access, calendar: WorkingCalendar, names: dict[str, str], days: int
) -> APIRouter:
    """`days`: the working days a complaint has to be resolved in."""
    api = APIRouter(prefix="/api/v1/supervision/complaints", tags=["complaints"])
    reader = Depends(access.allow(*CONSOLE_READERS))
    filer = Depends(access.allow(Role.WINDOW, Role.APPLICANT, Role.SUPERVISOR, Role.ADMIN))
    supervisor = Depends(access.allow(Role.SUPERVISOR, Role.ADMIN))

    def view(c: Complaint) -> ComplaintView:
        now = clock.now()
        return ComplaintView(
            department_name=names.get(c.department) if c.department else None,
            overdue=(c.resolved_at or now) > c.due_at,
            **{k: getattr(c, k) for k in ComplaintView.model_fields if k not in ("department_name", "overdue")},
        )

    @api.get("", response_model=list[ComplaintView])
    async def listed(
        status: Literal["open", "resolved", "all"] = "open",
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        _caller: Principal = reader,
    ) -> list[ComplaintView]:
        """Complaints, newest first."""
        async with sessions() as session:
            return [view(c) for c in await complaints.listed(session, status, limit)]

    @api.post("", response_model=ComplaintView, status_code=201)
    async def file(body: ComplaintIn, caller: Principal = filer) -> ComplaintView:
        """Files a complaint about a case (and one of its departments); it is due in the center's working days."""
        if body.department is not None and body.department not in names:
            raise HTTPException(422, f"department: 本中心没有部门 {body.department} (not a department of this center)")
        try:
            async with sessions() as session, session.begin():
                complaint = await complaints.file(
                    session, body.case_id, body.department, body.content, caller, clock.now(), calendar, days
                )
        except complaints.NotYours:
            raise not_found(f"办件 {body.case_id} (case)") from None
        return view(complaint)

    @api.post("/{complaint_id}/resolution", response_model=ComplaintView)
    async def resolve(complaint_id: str, body: Resolution, staff: Principal = supervisor) -> ComplaintView:
        """Closes a complaint with what was found and done."""
        try:
            async with sessions() as session, session.begin():
                complaint = await complaints.resolve(session, complaint_id, body.resolution, staff, clock.now())
        except complaints.AlreadyResolved:
            raise HTTPException(409, "该投诉已办结 (the complaint is already resolved)") from None
        if complaint is None:
            raise not_found(f"投诉 {complaint_id} (complaint)")
        return view(complaint)

    return api
