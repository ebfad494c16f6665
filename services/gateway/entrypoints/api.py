"""HTTP for applicants and window staff: where a case stands, the one-time notice, the one reply.

An applicant reads their own case only: with the query code (查询码) printed on their receipt, or with
an applicant token carrying their ID number. Window staff, supervisors and administrators of the center
read any case; a case that is not the caller's answers 404, as one that does not exist."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel

from services.gateway.adapters.orm import ApplicantView
from shared.contracts import STATE_TEXT
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role, not_found
from shared.personal_data import id_number_digest, query_code_digest

STAFF_READERS = (Role.WINDOW, Role.SUPERVISOR, Role.ADMIN)


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


def may_read(view: ApplicantView, caller: Principal | None, query_code: str | None) -> bool:
    if caller is not None and caller.role in STAFF_READERS:
        return True
    if caller is not None and caller.role is Role.APPLICANT:
        return hmac.compare_digest(id_number_digest(str(view.applicant.get("id_number", ""))), caller.id_number_sha256 or "")
    return bool(query_code and view.query_code_sha256) and hmac.compare_digest(
        query_code_digest(view.case_id, query_code or ""), view.query_code_sha256
    )


def router(sessions: SessionFactory, access: Access) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["gateway"])
    caller_if_any = Depends(access.optional)

    @api.get("/cases/{case_id}", response_model=CaseStatus)
    async def case_status(
        case_id: str,
        x_query_code: Annotated[str | None, Header(max_length=32, description="查询码 from the applicant's receipt.")] = None,
        caller: Principal | None = caller_if_any,
    ) -> CaseStatus:
        """The case's status, every department part, the one-time notice if any, and the unified reply."""
        if caller is None and not x_query_code:
            raise HTTPException(
                401,
                "需要访问令牌或查询码 (a bearer token or the X-Query-Code header is required)",
                {"WWW-Authenticate": "Bearer"},
            )
        if caller is not None and caller.role is Role.DEPARTMENT:
            raise HTTPException(403, "部门人员请在工作队列中查看本部门事项 (department staff use their work queue)")
        async with sessions() as session:
            view = await session.get(ApplicantView, case_id)
        if view is None or not may_read(view, caller, x_query_code):
            raise not_found(f"办件 {case_id} (case; the gateway may not know it yet)")
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
