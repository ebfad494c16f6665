"""A department's part of a joint case: its state, suspensions, extensions and decision."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.contracts import (
    Approve,
    DeemedApproval,
    Deny,
    Outcome,
    PartOutcome,
    PartState,
    PartSummary,
    RefusalRule,
    Refuse,
    RequireRectification,
    SupplementItem,
    SuspensionKind,
)

DECIDED = {
    PartState.APPROVED: Outcome.APPROVED,
    PartState.DENIED: Outcome.DENIED,
    PartState.RECTIFICATION_REQUIRED: Outcome.RECTIFICATION_REQUIRED,
}


class Refused(Exception):
    """The rules do not allow this action now; the reason is for the person who tried, the rule
    for supervision."""

    def __init__(self, reason: str, rule: RefusalRule = RefusalRule.OUT_OF_ORDER) -> None:
        super().__init__(reason)
        self.reason, self.rule = reason, rule


def require(condition: bool, reason: str, rule: RefusalRule = RefusalRule.OUT_OF_ORDER) -> None:
    if not condition:
        raise Refused(reason, rule)


class Suspension(BaseModel):
    kind: SuspensionKind
    reason: str | None
    applicant_notified_on: date
    started_at: datetime
    ended_at: datetime | None = None


class Extension(BaseModel):
    days: int
    reason: str
    requested_by: str
    requested_at: datetime
    approved: bool | None = None
    approver_name: str | None = None
    approver_title: str | None = None
    decided_at: datetime | None = None


class Part(BaseModel):
    work_order_id: str
    department: str
    department_name: str = ""  # Chinese, from the catalog; empty in cases filed before release 0.2
    part_code: str
    part_name: str
    time_limit_days: int
    silence_means_yes: bool = False
    materials: dict[str, str]
    state: PartState = PartState.FORWARDED
    round: int = 1
    supplement_items: list[SupplementItem] = Field(default_factory=list)
    refusal: Refuse | None = None
    decision: Approve | Deny | RequireRectification | DeemedApproval | None = None
    decided_at: datetime | None = None
    suspensions: list[Suspension] = Field(default_factory=list)
    extensions: list[Extension] = Field(default_factory=list)

    @property
    def pending_extension(self) -> Extension | None:
        return next((e for e in self.extensions if e.approved is None), None)

    def summary(self) -> PartSummary:
        return PartSummary(
            work_order_id=self.work_order_id,
            department=self.department,
            department_name=self.department_name,
            part_code=self.part_code,
            part_name=self.part_name,
            time_limit_days=self.time_limit_days,
            silence_means_yes=self.silence_means_yes,
        )

    def outcome(self) -> PartOutcome:
        d = self.decision
        part = PartOutcome(
            department=self.department,
            department_name=self.department_name,
            part_code=self.part_code,
            part_name=self.part_name,
            outcome=DECIDED.get(self.state, Outcome.NOT_ACCEPTED),
            decided_at=self.decided_at,
        )
        if self.state is PartState.PRE_REFUSED and self.refusal:
            return part.model_copy(update={"reason": self.refusal.reason, "legal_basis": self.refusal.legal_basis})
        return part.model_copy(
            update={
                "document_number": d.document_number if isinstance(d, Approve | DeemedApproval) else None,
                "deemed": isinstance(d, DeemedApproval),
                "documents": d.documents if isinstance(d, Approve) else [],
                "legal_basis": d.legal_basis if isinstance(d, Deny) else None,
                "reason": d.reason if isinstance(d, Deny) else None,
                "rectification_items": d.items if isinstance(d, RequireRectification) else [],
            }
        )
