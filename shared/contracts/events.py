"""Event payloads. Past-tense names; the `event_type` carries the contract version."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.envelope import EventData


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="person | enterprise", pattern="^(person|enterprise)$")
    name: str = Field(min_length=1, max_length=200, examples=["杭州某某科技有限公司"])
    id_number: str = Field(
        min_length=6, max_length=32,
        description="Citizen id number or unified social credit code.",
        examples=["91330100MA2H000000"],
    )
    phone: str | None = Field(default=None, max_length=32)


class PartSummary(BaseModel):
    """One department's part of a joint case, as announced at submission."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    work_order_id: str
    department: str = Field(examples=["tax"])
    part_code: str = Field(examples=["TAX-REG"])
    part_name: str = Field(examples=["税务登记"])
    time_limit_days: int = Field(ge=0, description="Committed limit in working days; 0 means immediate.")


class CaseSubmitted(EventData):
    """The lead window took a joint case; every department part starts now."""

    event_type: ClassVar[str] = "cn.lianban.case.submitted.v1"

    case_id: str
    center: str
    matter_code: str = Field(examples=["JM-ENT-001"])
    matter_name: str = Field(examples=["企业设立登记联办"])
    lead_department: str
    applicant: Applicant
    parts: list[PartSummary] = Field(min_length=1)
    submitted_at: datetime


class WorkOrder(EventData):
    """A department's share of a case, on that department's own work topic."""

    event_type: ClassVar[str] = "cn.lianban.work_order.issued.v1"

    work_order_id: str = Field(description="Unique per case and department; the department's idempotency key.")
    case_id: str
    center: str
    matter_code: str
    department: str
    part_code: str
    part_name: str
    applicant: Applicant
    materials: dict[str, str] = Field(
        default_factory=dict,
        description="Material name to a reference (file id or URL) the department can fetch.",
        examples=[{"营业执照申请书": "doc://demo/0001"}],
    )
    time_limit_days: int = Field(ge=0)
    issued_at: datetime


class Outcome(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"


class DepartmentResult(EventData):
    """A department's decision on its part: approval with a document, or denial with its basis."""

    event_type: ClassVar[str] = "cn.lianban.department.result.v1"

    work_order_id: str
    case_id: str
    department: str
    part_code: str
    outcome: Outcome
    document_number: str | None = Field(default=None, description="Required when approved.")
    legal_basis: str | None = Field(default=None, description="Required when denied.")
    reason: str | None = Field(default=None, description="Required when denied.")
    handled_by: str | None = Field(default=None, description="Staff id in the department.")
    decided_at: datetime

    @model_validator(mode="after")
    def _decision_is_complete(self) -> DepartmentResult:
        if self.outcome is Outcome.APPROVED and not self.document_number:
            raise ValueError("an approval needs its document_number")
        if self.outcome is Outcome.DENIED and not (self.legal_basis and self.reason):
            raise ValueError("a denial needs its legal_basis and reason")
        return self


class PartOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    part_code: str
    part_name: str
    outcome: Outcome
    document_number: str | None = None
    legal_basis: str | None = None
    reason: str | None = None
    decided_at: datetime


class UnifiedReply(EventData):
    """统一回复: one answer to the applicant once every department has decided."""

    event_type: ClassVar[str] = "cn.lianban.case.replied.v1"

    case_id: str
    outcome: Outcome = Field(description="approved only when every part is approved.")
    message: str = Field(description="The reply as the applicant reads it, in Chinese.")
    parts: list[PartOutcome]
    replied_at: datetime


class OverdueAlert(EventData):
    """A department part passed its deadline without a decision."""

    event_type: ClassVar[str] = "cn.lianban.supervision.overdue.v1"

    case_id: str
    work_order_id: str
    department: str
    part_code: str
    deadline: datetime
    detected_at: datetime
    message: str


class DeadLetter(EventData):
    """A message that could not be handled, kept with its cause and origin so nothing is lost."""

    event_type: ClassVar[str] = "cn.lianban.dead_letter.v1"

    consumer: str
    error: str
    topic: str
    partition: int
    offset: int
    key: str | None
    original: str = Field(description="The original message, as text (undecodable bytes replaced).")


EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (CaseSubmitted, WorkOrder, DepartmentResult, UnifiedReply, OverdueAlert, DeadLetter)
}
