"""HTTP for departments without an IT system of their own: their work queue and their actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select

from services.intake.adapters.orm import CaseRecord, PartRecord
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Part
from services.intake.entrypoints.window_api import CaseOut, case_out
from services.intake.service_layer.act import CaseActions
from shared.contracts import DepartmentAction, PartState, StaffId
from shared.db import SessionFactory

OPEN = (PartState.FORWARDED, PartState.HANDLING, PartState.SUSPENDED)


class ActionIn(BaseModel):
    staff_id: StaffId
    action: DepartmentAction


class WorkQueueEntry(BaseModel):
    case_id: str
    matter_name: str
    applicant_name: str
    part: Part
    case_state: str


def router(sessions: SessionFactory, actions: CaseActions) -> APIRouter:
    api = APIRouter(prefix="/api/v1/departments/{department}/work", tags=["department work queue"])

    @api.get("", response_model=list[WorkQueueEntry])
    async def open_work(department: str, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[WorkQueueEntry]:
        """This department's parts that await its pre-review, decision or resumption."""
        async with sessions() as session:
            rows = await session.execute(
                select(CaseRecord.document)
                .join(PartRecord, PartRecord.case_id == CaseRecord.case_id)
                .where(PartRecord.department == department, PartRecord.state.in_(OPEN))
                .order_by(CaseRecord.submitted_at)
                .limit(limit)
            )
            cases = [JointCase.model_validate(r.document) for r in rows]
        return [
            WorkQueueEntry(
                case_id=c.case_id,
                matter_name=c.matter_name,
                applicant_name=c.applicant.name,
                part=c.part_of(department),
                case_state=c.state,
            )
            for c in cases
        ]

    @api.post("/{work_order_id}/actions", response_model=CaseOut)
    async def act(
        department: str, work_order_id: str, body: ActionIn, idempotency_key: Annotated[str | None, Header(max_length=200)] = None
    ) -> CaseOut:
        """Accept, ask for a supplement, refuse, approve, deny, require rectification, suspend, resume,
        request or decide an extension. Not allowed now: 409 with the reason, nothing changes. Send an
        Idempotency-Key to retry safely: the same key again does nothing twice."""
        if body.action.kind == "deemed_approve":
            raise HTTPException(403, "超时默许只能由电子监察作出 (only supervision issues a deemed approval)")
        case_id = work_order_id.rsplit("-", 1)[0]
        return case_out(
            await actions.department_acts(case_id, department, body.staff_id, body.action, work_order_id, idempotency_key)
        )

    return api
