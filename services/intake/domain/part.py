"""A department's part of a joint case: its state, suspensions, extensions and decision."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.contracts import (
    Approve,
    DeemedApproval,
    Deny,
    MaterialFile,
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


FILE_REFERENCE = "sha256:"  # a material the center stores (shared/materials), as a case names it
FileFacts = Mapping[str, tuple[int, str]]  # a stored file's SHA-256 to its size and media type


def stored_file(reference: str) -> str | None:
    """The SHA-256 a material's reference names, if it names a stored file."""
    return reference.removeprefix(FILE_REFERENCE) if reference.startswith(FILE_REFERENCE) else None


def material_url(sha256: str, case_id: str) -> str:
    """Where the department fetches a file of its part, relative to the center's intake."""
    return f"/api/v1/materials/{sha256}?case_id={case_id}"


class TransferTarget(BaseModel):
    """Where a part reviewed here first goes to be decided (初审转报), and under which matter code there."""

    center: str
    center_name: str
    matter_code: str


class Part(BaseModel):
    work_order_id: str
    department: str
    department_name: str = ""  # Chinese, from the catalog; empty in cases filed before release 0.2
    part_code: str
    part_name: str
    time_limit_days: int
    silence_means_yes: bool = False
    materials: dict[str, str]
    files: list[MaterialFile] = Field(default_factory=list)  # every version of every stored material, oldest first
    state: PartState = PartState.FORWARDED
    round: int = 1
    supplement_items: list[SupplementItem] = Field(default_factory=list)
    refusal: Refuse | None = None
    decision: Approve | Deny | RequireRectification | DeemedApproval | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None  # the staff id of the decision (absent in cases decided before the exchange)
    suspensions: list[Suspension] = Field(default_factory=list)
    extensions: list[Extension] = Field(default_factory=list)
    transfer: TransferTarget | None = None  # 初审转报: the parent center that decides this part
    transferred_at: datetime | None = None

    def take_files(self, case_id: str, materials: dict[str, str], known: FileFacts) -> list[MaterialFile]:
        """The stored files among `materials`, each as the next version of its material; the new ones."""
        taken = []
        for name, reference in materials.items():
            sha256 = stored_file(reference)
            if sha256 is None:
                continue
            require(sha256 in known, f"材料「{name}」的文件未上传 (no uploaded file {reference})", RefusalRule.INCOMPLETE)
            size, media_type = known[sha256]
            version = 1 + sum(1 for f in self.files if f.name == name)
            taken.append(
                MaterialFile(
                    name=name,
                    version=version,
                    sha256=sha256,
                    size=size,
                    media_type=media_type,
                    url=material_url(sha256, case_id),
                )
            )
        self.files += taken
        return taken

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
            decided_by_center=self.transfer.center_name if self.transfer and self.transferred_at else None,
        )
        if self.state is PartState.PRE_REFUSED and self.refusal:
            return part.model_copy(update={"reason": self.refusal.reason, "legal_basis": self.refusal.legal_basis})
        return part.model_copy(
            update={
                "document_number": d.document_number if isinstance(d, Approve | DeemedApproval) else None,
                "deemed": isinstance(d, DeemedApproval),
                "documents": d.documents if isinstance(d, Approve) else [],
                "certificates": d.certificates if isinstance(d, Approve) else [],
                "legal_basis": d.legal_basis if isinstance(d, Deny) else None,
                "reason": d.reason if isinstance(d, Deny) else None,
                "rectification_items": d.items if isinstance(d, RequireRectification) else [],
            }
        )
