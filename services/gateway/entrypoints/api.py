"""HTTP for applicants and window staff: where a case stands, the one-time notice, the one reply.

An applicant reads their own case only: with the query code (查询码) printed on their receipt, or with
an applicant token carrying their ID number. Window staff, supervisors and administrators of the center
read any case; a case that is not the caller's answers 404, as one that does not exist."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from services.gateway.adapters.orm import ApplicantView, CertificateRead
from shared.clock import SYSTEM_CLOCK, Clock
from shared.contracts import STATE_TEXT
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role, not_found
from shared.materials import MaterialStore, open_file
from shared.materials.upload import sniffed
from shared.personal_data import id_number_digest, query_code_digest

STAFF_READERS = (Role.WINDOW, Role.SUPERVISOR, Role.ADMIN)
QueryCode = Annotated[str | None, Header(max_length=32, description="查询码 from the applicant's receipt.")]


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


def router(sessions: SessionFactory, access: Access, store: MaterialStore, clock: Clock = SYSTEM_CLOCK) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["gateway"])
    caller_if_any = Depends(access.optional)

    async def readable(case_id: str, caller: Principal | None, query_code: str | None) -> ApplicantView:
        """The case, if this caller may read it (401 with neither token nor code; 404 if not theirs)."""
        if caller is None and not query_code:
            raise HTTPException(
                401,
                "需要访问令牌或查询码 (a bearer token or the X-Query-Code header is required)",
                {"WWW-Authenticate": "Bearer"},
            )
        if caller is not None and caller.role is Role.DEPARTMENT:
            raise HTTPException(403, "部门人员请在工作队列中查看本部门事项 (department staff use their work queue)")
        async with sessions() as session:
            view = await session.get(ApplicantView, case_id)
        if view is None or not may_read(view, caller, query_code):
            raise not_found(f"办件 {case_id} (case; the gateway may not know it yet)")
        return view

    @api.get("/cases/{case_id}", response_model=CaseStatus)
    async def case_status(case_id: str, x_query_code: QueryCode = None, caller: Principal | None = caller_if_any) -> CaseStatus:
        """The case's status, every department part, the one-time notice if any, and the unified reply."""
        view = await readable(case_id, caller, x_query_code)
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

    @api.get(
        "/cases/{case_id}/certificates/{sha256}",
        response_class=StreamingResponse,
        responses={200: {"content": {"application/pdf": {}}}},
    )
    async def certificate(
        case_id: str, sha256: str, x_query_code: QueryCode = None, caller: Principal | None = caller_if_any
    ) -> StreamingResponse:
        """电子证照: a document a department issued with its approval, as the one reply lists it; for whoever
        may read the case (the query code, the applicant, staff). Each fetch is recorded."""
        view = await readable(case_id, caller, x_query_code)
        issued = {c["sha256"] for p in (view.reply or {}).get("parts", []) for c in p.get("certificates", [])}
        if sha256 not in issued:
            raise not_found(f"证照 {sha256}")
        try:
            head, chunks = await open_file(store, sha256)
        except FileNotFoundError:
            raise not_found(f"证照 {sha256}") from None
        async with sessions() as session, session.begin():
            reader = caller.subject if caller is not None else "查询码"
            session.add(CertificateRead(sha256=sha256, case_id=case_id, reader=reader, read_at=clock.now()))
        media_type = sniffed(head) or "application/octet-stream"  # as its content says: a PDF, or a scan
        return StreamingResponse(chunks, media_type=media_type, headers={"X-Content-SHA256": sha256})

    return api
