"""HTTP for the lead window: file a joint case, read the catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.intake.domain.case import Application, ApplicationInvalid
from services.intake.service_layer.submit import IdempotencyConflict, SubmitCase, UnknownMatter
from shared.contracts import Applicant


class LeadWindow(BaseModel):
    department: str = Field(examples=["market"])
    window_id: str = Field(min_length=1, examples=["W-03"])
    staff_id: str = Field(min_length=1, examples=["S-0107"])


class CaseCreate(BaseModel):
    """A joint case as the lead window takes it, with the materials for every department's part."""

    matter_code: str = Field(examples=["JM-REST-001"])
    applicant: Applicant
    lead_window: LeadWindow
    materials: dict[str, dict[str, str]] = Field(
        description="Department code to its materials (material name to a document reference).",
        examples=[{"tax": {"财务负责人信息": "doc://demo/0003"}}],
    )


class PartPublic(BaseModel):
    work_order_id: str
    department: str
    part_code: str
    part_name: str
    time_limit_days: int


class CasePublic(BaseModel):
    case_id: str
    matter_code: str
    status: str = "submitted"
    parts: list[PartPublic]
    status_url: str


def router(submit: SubmitCase) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["intake"])

    @api.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
    async def create_case(
        body: CaseCreate, response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> CasePublic:
        """File a joint case once; every department part is published at the same time."""
        application = Application(body.matter_code, body.applicant, body.lead_window.department,
                                  body.lead_window.window_id, body.lead_window.staff_id, body.materials)
        try:
            result = await submit(application, idempotency_key)
        except UnknownMatter as exc:
            raise HTTPException(404, f"未知联办事项 unknown joint matter: {exc}") from exc
        except IdempotencyConflict as exc:
            raise HTTPException(409, str(exc)) from exc
        except ApplicationInvalid as exc:
            detail = [{"loc": ["body", *f.split(".")], "msg": r, "type": "application_invalid"}
                      for f, r in exc.problems]
            raise HTTPException(422, detail) from exc
        if not result.created:
            response.status_code = status.HTTP_200_OK
        record = result.record
        response.headers["Location"] = f"/api/v1/cases/{record.case_id}"
        return CasePublic(case_id=record.case_id, matter_code=record.matter_code,
                          parts=[PartPublic(**p) for p in record.parts],
                          status_url=f"/api/v1/cases/{record.case_id}")

    @api.get("/catalog/joint-matters")
    async def joint_matters(request: Request) -> JSONResponse:
        """The joint matters this center handles, with each department's part and materials."""
        catalog = request.app.state.catalog
        return JSONResponse([
            {"code": m.code, "name": m.name, "lead": m.lead,
             "parts": [{"department": p.department, "code": p.code, "name": p.name,
                        "time_limit_days": p.time_limit_days, "required_materials": list(p.required_materials)}
                       for p in m.parts]}
            for m in catalog.joint_matters.values()
        ])

    return api
