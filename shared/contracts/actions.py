"""What a department (through its system or its staff) and the lead window can do to a case.

The models only check shape; whether an action is allowed now is the case's state machine's
call (services/intake/domain/lifecycle.py), so a disallowed action still reaches it and is
refused with a reason that supervision sees.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(max_length=100)]  # a material, a document, a person, a number
Text = Annotated[str, Field(max_length=2000)]  # a reason, an opinion, a legal basis


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SupplementItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    material: Name = Field(min_length=1, examples=["场所消防安全制度"])
    reason: Text = Field(min_length=1, examples=["缺少疏散预案章节"])


class Accept(_Action):
    """Pre-review: the materials for this part are complete; accept the case (受理)."""

    kind: Literal["accept"] = "accept"
    opinion: Text | None = None


class RequestSupplement(_Action):
    """Pre-review: materials missing or defective (补正); each item says which and why."""

    kind: Literal["supplement"] = "supplement"
    items: list[SupplementItem] = Field(min_length=1, max_length=100)


class Refuse(_Action):
    """Pre-review: the case cannot be accepted (不予受理)."""

    kind: Literal["refuse"] = "refuse"
    reason: Text | None = None
    legal_basis: Text | None = None


class Certificate(BaseModel):
    """电子证照: a document the department issued, as a file it uploaded to the center (POST /api/v1/materials)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(examples=["食品经营许可证"])
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class Approve(_Action):
    """Handling: approved (准予), with the document or certificate number."""

    kind: Literal["approve"] = "approve"
    document_number: Name | None = None
    documents: list[Name] = Field(default_factory=list, max_length=50, description="Names of the documents issued.")
    certificates: list[Certificate] = Field(
        default_factory=list, max_length=20, description="The issued documents as files, delivered with the one reply."
    )


class Deny(_Action):
    """Handling: denied (不予), with legal basis, reason and the written opinion."""

    kind: Literal["deny"] = "deny"
    legal_basis: Text | None = None
    reason: Text | None = None
    written_opinion: Text | None = None


class RequireRectification(_Action):
    """Handling: the applicant must fix things (整改) and apply a second time."""

    kind: Literal["rectify"] = "rectify"
    items: list[Text] = Field(min_length=1, max_length=100, description="What to fix, one item each.")


class SuspensionKind(StrEnum):
    PUBLIC_NOTICE = "public_notice"  # 公示
    HEARING = "hearing"  # 听证
    TENDER = "tender"  # 招标、拍卖
    INSPECTION_TESTING = "inspection_testing"  # 检验、检测、检疫
    APPRAISAL = "appraisal"  # 鉴定
    EXPERT_REVIEW = "expert_review"  # 专家评审


class Suspend(_Action):
    """Handling: the clock stops for a step that does not count (不计算在期限内)."""

    kind: Literal["suspend"] = "suspend"
    suspension_kind: SuspensionKind
    applicant_notified_on: date | None = Field(default=None, description="The day the applicant was told.")
    reason: Text | None = None


class Resume(_Action):
    """Handling: the suspension ended; the clock runs again."""

    kind: Literal["resume"] = "resume"


class RequestExtension(_Action):
    """Handling: ask for more working days (延期); effective only once a department head approves."""

    kind: Literal["request_extension"] = "request_extension"
    days: int = Field(ge=1, le=60)
    reason: Text = Field(min_length=1)


class DecideExtension(_Action):
    """A named department head approves or rejects the pending extension."""

    kind: Literal["decide_extension"] = "decide_extension"
    approved: bool
    approver_name: Name | None = None
    approver_title: Name | None = Field(default=None, examples=["局长"])


class Transfer(_Action):
    """Handling of a part the center reviews first and its parent center decides (初审转报): the department's
    first review is done, the part goes up to the parent center's department, whose decision comes back
    as this part's (docs/exchange.md). Only for a part whose work says `transfer_to`."""

    kind: Literal["transfer"] = "transfer"
    opinion: Text = Field(min_length=1, description="初审意见: what the first review found.", examples=["初审同意，转报市局审批"])


class DeemedApproval(_Action):
    """超时默许: supervision approves on behalf of a department that stayed silent after urging."""

    kind: Literal["deemed_approve"] = "deemed_approve"
    issued_by: Literal["supervision"] = "supervision"
    document_number: Name = Field(description="The center's number for the deemed approval.")
    deadline: datetime = Field(description="The committed deadline the department let pass.")
    urged_at: list[datetime] = Field(min_length=1, max_length=100, description="When the department was urged.")
    silent_since: datetime = Field(description="The department's last action on the part, or acceptance.")


DepartmentAction = Annotated[
    Accept
    | RequestSupplement
    | Refuse
    | Approve
    | Deny
    | RequireRectification
    | Suspend
    | Resume
    | RequestExtension
    | DecideExtension
    | Transfer
    | DeemedApproval,
    Field(discriminator="kind"),
]
PRE_REVIEW_ACTIONS = ("accept", "supplement", "refuse")
DECISIONS = ("approve", "deny", "rectify", "deemed_approve")
