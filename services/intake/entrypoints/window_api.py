"""HTTP for the lead window (牵头窗口): file a case, read it, take a supplement, deliver, evaluate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status
from pydantic import BaseModel, Field

from services.intake.domain.case import Application
from services.intake.domain.lifecycle import JointCase
from services.intake.service_layer.act import CaseActions, CaseNotFound
from services.intake.service_layer.materials import MaterialDesk
from services.intake.service_layer.submit import SubmitCase
from shared.contracts import STATE_TEXT, Applicant, CaseEvaluated
from shared.identity import Access, Principal, Role

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]  # a department, a matter, a case, a window
MaterialName = Annotated[str, Field(min_length=1, max_length=100)]
MaterialRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="`sha256:<hex>` for a file uploaded to POST /api/v1/materials, else a reference to another system.",
    ),
]
Materials = Annotated[
    dict[Code, Annotated[dict[MaterialName, MaterialRef], Field(max_length=50)]],
    Field(
        max_length=20,
        description="Department code to its materials (material name to a document reference); "
        "at most 20 departments, 50 materials each.",
    ),
]


class LeadWindow(BaseModel):
    """Where the case was taken; who took it is the token's subject, never a field."""

    department: Code = Field(examples=["market"])
    window_id: Code = Field(examples=["W-03"])


class CaseCreate(BaseModel):
    """A joint case as the lead window takes it, with the materials for every department's part."""

    matter_code: Code = Field(examples=["JM-REST-001"])
    applicant: Applicant
    lead_window: LeadWindow
    materials: Materials = Field(examples=[{"tax": {"财务负责人信息": "doc://demo/0003"}}])
    previous_case_id: Code | None = Field(default=None, description="For a second application after rectification.")


class CaseOut(BaseModel):
    """The case as the lead window keeps it, with the applicant's data and the query code (查询码) to print on
    the receipt: for window staff only."""

    case: JointCase
    state_text: str
    owes_next_step: list[str] = Field(description="Departments that owe the next step; empty once final.")
    status_url: str


class SupplementIn(BaseModel):
    materials: Materials = Field(description="Per department that asked, the materials brought.")


class DeliveryIn(BaseModel):
    method: str = Field(default="窗口领取", max_length=20, examples=["窗口领取", "邮寄"])


class EvaluationIn(BaseModel):
    score: int = Field(ge=1, le=5, description="好差评: 1 (very poor) to 5 (very good)")
    reason: str | None = Field(default=None, max_length=2000, description="Required for a score of 1 or 2.")


class EvaluationOut(BaseModel):
    case_id: str
    state_text: str
    evaluation: CaseEvaluated | None


def case_out(case: JointCase) -> CaseOut:
    return CaseOut(
        case=case,
        state_text=STATE_TEXT[case.state],
        owes_next_step=case.owes_next_step(),
        status_url=f"/api/v1/cases/{case.case_id}",
    )


def router(submit: SubmitCase, actions: CaseActions, desk: MaterialDesk, access: Access) -> APIRouter:
    api = APIRouter(prefix="/api/v1/cases", tags=["lead window"])
    window = Depends(access.allow(Role.WINDOW))
    window_or_applicant = Depends(access.allow(Role.WINDOW, Role.APPLICANT))
    window_or_administrator = Depends(access.allow(Role.WINDOW, Role.ADMIN))

    @api.post("", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
    async def create_case(
        body: CaseCreate,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
        staff: Principal = window,
    ) -> CaseOut:
        """File a joint case once; every department receives its part for pre-review at the same time.
        The answer carries the query code (查询码) with which the applicant follows the case."""
        application = Application(
            body.matter_code,
            body.applicant,
            body.lead_window.department,
            body.lead_window.window_id,
            staff.subject,
            body.materials,
            body.previous_case_id,
        )
        result = await submit(await desk.checked(application), idempotency_key)
        if not result.created:
            response.status_code = status.HTTP_200_OK
        response.headers["Location"] = f"/api/v1/cases/{result.case.case_id}"
        return case_out(result.case)

    @api.get("/{case_id}", response_model=CaseOut)
    async def read_case(case_id: str, _staff: Principal = window_or_administrator) -> CaseOut:
        """The case as the lead window follows it: every part's state and who owes the next step."""
        case = await actions.read(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case_out(case)

    @api.post("/{case_id}/supplement", response_model=CaseOut)
    async def supplement(case_id: str, body: SupplementIn, staff: Principal = window) -> CaseOut:
        """The applicant brings what the one-time notice listed; the departments that asked review again."""
        case = await actions.read(case_id)
        held = sum({f.sha256: f.size for p in case.parts for f in p.files}.values()) if case else 0
        known = await desk.facts(body.materials, already=held)
        return case_out(await actions.supplement(case_id, body.materials, staff.subject, known))

    @api.post("/{case_id}/delivery", response_model=CaseOut)
    async def deliver(case_id: str, body: DeliveryIn, staff: Principal = window) -> CaseOut:
        """送达: the documents were handed to the applicant."""
        return case_out(await actions.deliver(case_id, body.method, staff.subject))

    @api.post("/{case_id}/evaluation", response_model=EvaluationOut)
    async def evaluate(case_id: str, body: EvaluationIn, caller: Principal = window_or_applicant) -> EvaluationOut:
        """好差评: the applicant's mark for the case, given by the applicant (their own case only) or entered
        at the window on their behalf."""
        applicant = caller.id_number_sha256 if caller.role is Role.APPLICANT else None
        case = await actions.evaluate(case_id, body.score, body.reason, applicant)
        return EvaluationOut(case_id=case.case_id, state_text=STATE_TEXT[case.state], evaluation=case.evaluation)

    return api
