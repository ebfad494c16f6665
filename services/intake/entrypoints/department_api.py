"""HTTP for departments without an IT system of their own: their work queue and their actions.

The department is the token's: staff list and act on their own department's parts only, and another
department's work order answers 404 exactly as one that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.intake.adapters.orm import CaseRecord, PartRecord
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Part
from services.intake.service_layer.act import ActionNotAllowed, CaseActions, CaseNotFound
from shared.contracts import STATE_TEXT, Applicant, DepartmentAction, PartState, RefusalRule
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role, not_found

OPEN = (PartState.FORWARDED, PartState.HANDLING, PartState.SUSPENDED)
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
WorkOrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,130}$")]


class ActionIn(BaseModel):
    """The action; who took it is the token's subject, for which department the token's department."""

    action: DepartmentAction


class WorkQueueEntry(BaseModel):
    """A part as its department sees it: the applicant's name and ID number, no more."""

    case_id: str
    matter_name: str
    applicant: Applicant
    part: Part
    case_state: str
    state_text: str
    owes_next_step: list[str] = Field(description="Departments that owe the next step; empty once final.")


def entry(case: JointCase, department: str) -> WorkQueueEntry:
    return WorkQueueEntry(
        case_id=case.case_id,
        matter_name=case.matter_name,
        applicant=case.applicant.model_copy(update={"phone": None}),
        part=case.part_of(department),
        case_state=case.state,
        state_text=STATE_TEXT[case.state],
        owes_next_step=case.owes_next_step(),
    )


def router(sessions: SessionFactory, actions: CaseActions, access: Access) -> APIRouter:
    api = APIRouter(prefix="/api/v1/departments/{department}/work", tags=["department work queue"])

    department_staff = Depends(access.allow(Role.DEPARTMENT))

    async def own_department(department: Code, staff: Principal = department_staff) -> Principal:
        if staff.department != department:
            raise not_found(f"部门 {department} 的工作队列 (the department's work queue)")
        return staff

    own_staff = Depends(own_department)

    @api.get("", response_model=list[WorkQueueEntry])
    async def open_work(
        department: Code, limit: Annotated[int, Query(ge=1, le=1000)] = 200, _staff: Principal = own_staff
    ) -> list[WorkQueueEntry]:
        """This department's parts that await its pre-review, decision or resumption."""
        async with sessions() as session:
            rows = await session.execute(
                select(CaseRecord.document)
                .join(PartRecord, PartRecord.case_id == CaseRecord.case_id)
                .where(PartRecord.department == department, PartRecord.state.in_(OPEN))
                .order_by(CaseRecord.submitted_at)
                .limit(limit)
            )
            return [entry(JointCase.model_validate(r.document), department) for r in rows]

    @api.post("/{work_order_id}/actions", response_model=WorkQueueEntry)
    async def act(
        department: Code,
        work_order_id: WorkOrderId,
        body: ActionIn,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
        staff: Principal = own_staff,
    ) -> WorkQueueEntry:
        """Accept, ask for a supplement, refuse, approve, deny, require rectification, suspend, resume,
        request or decide an extension. Not allowed now: 409 with the reason, nothing changes. Send an
        Idempotency-Key to retry safely: the same key again does nothing twice."""
        if body.action.kind == "deemed_approve":
            raise HTTPException(403, "超时默许只能由电子监察作出 (only supervision issues a deemed approval)")
        case_id = work_order_id.rsplit("-", 1)[0]
        try:
            done = await actions.department_acts(case_id, department, staff.subject, body.action, work_order_id, idempotency_key)
        except (CaseNotFound, ActionNotAllowed) as exc:
            if isinstance(exc, ActionNotAllowed) and exc.rule is not RefusalRule.NO_WORK_ORDER:
                raise
            # not this department's work order: recorded (a refused action), answered as if there were none
            raise not_found(f"工单 {work_order_id} (work order)") from None
        return entry(done, department)

    return api
