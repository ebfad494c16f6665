"""HTTP for window staff and applicants: where a case stands, and its one reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import select

from services.gateway.adapters.orm import CaseView, PartView
from shared.db import SessionFactory

STATUS_TEXT = {"in_progress": "办理中", "completed": "已办结"}


class PartStatus(BaseModel):
    work_order_id: str
    department: str
    part_code: str
    part_name: str
    outcome: str | None
    document_number: str | None
    legal_basis: str | None
    reason: str | None
    decided_at: datetime | None


class CaseStatus(BaseModel):
    case_id: str
    matter_code: str
    matter_name: str
    status: str
    status_text: str
    submitted_at: datetime
    parts: list[PartStatus]
    reply: dict[str, Any] | None


def router(sessions: SessionFactory) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["gateway"])

    @api.get("/cases/{case_id}", response_model=CaseStatus)
    async def case_status(case_id: str) -> CaseStatus:
        """The case's status, every department part, and the unified reply once there is one."""
        async with sessions() as session:
            case = await session.get(CaseView, case_id)
            if case is None:
                raise HTTPException(404, f"未找到该办件 case {case_id} is not known (yet) to the gateway")
            parts = await session.scalars(select(PartView).where(PartView.case_id == case_id)
                                          .order_by(PartView.work_order_id))
            status = "completed" if case.reply else "in_progress"
            return CaseStatus(
                case_id=case.case_id, matter_code=case.matter_code, matter_name=case.matter_name,
                status=status, status_text=STATUS_TEXT[status], submitted_at=case.submitted_at,
                parts=[PartStatus.model_validate(p, from_attributes=True) for p in parts], reply=case.reply)

    return api
