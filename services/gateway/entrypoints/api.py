"""HTTP for applicants and window staff: where a case stands, the one-time notice, the one reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from services.gateway.adapters.orm import ApplicantView
from shared.contracts import STATE_TEXT
from shared.db import SessionFactory


class CaseStatus(BaseModel):
    case_id: str
    matter_code: str
    matter_name: str
    status: str
    status_text: str
    submitted_at: datetime
    accepted_at: datetime | None
    notice: dict[str, Any] | None
    parts: list[dict[str, Any]]
    reply: dict[str, Any] | None
    delivery: dict[str, Any] | None
    evaluation: dict[str, Any] | None


def router(sessions: SessionFactory) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["gateway"])

    @api.get("/cases/{case_id}", response_model=CaseStatus)
    async def case_status(case_id: str) -> CaseStatus:
        """The case's status, every department part, the one-time notice if any, and the unified reply."""
        async with sessions() as session:
            view = await session.get(ApplicantView, case_id)
        if view is None:
            raise HTTPException(404, f"未找到该办件 case {case_id} is not known (yet) to the gateway")
        parts = [p | {"state_text": STATE_TEXT.get(p["state"], p["state"])} for p in view.parts]
        return CaseStatus(
            case_id=view.case_id,
            matter_code=view.matter_code,
            matter_name=view.matter_name,
            status=view.state,
            status_text=STATE_TEXT[view.state],
            submitted_at=view.submitted_at,
            accepted_at=view.accepted_at,
            notice=view.notice,
            parts=parts,
            reply=view.reply,
            delivery=view.delivery,
            evaluation=view.evaluation,
        )

    return api
