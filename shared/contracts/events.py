"""Event payloads. Past-tense names; the `event_type` carries the contract version."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.actions import Certificate, DepartmentAction
from shared.contracts.envelope import EventData
from shared.contracts.states import AlertKind, CaseState, PartState

DepartmentName = Annotated[
    str, Field(description="The department's Chinese name, as the applicant reads it.", examples=["税务局"])
]
StaffId = Annotated[str, Field(min_length=1, max_length=64, examples=["S-0107"], description="Who acted, in the department.")]


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="person | enterprise", pattern="^(person|enterprise)$")
    name: str = Field(min_length=1, max_length=200, examples=["杭州某某科技有限公司"])
    id_number: str = Field(
        min_length=6,
        max_length=32,
        description="Citizen id number or unified social credit code.",
        examples=["91330100MA2H000000"],
    )
    phone: str | None = Field(default=None, max_length=32)


class PartSummary(BaseModel):
    """One department's part of a joint case, as announced at submission."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    work_order_id: str
    department: str = Field(examples=["tax"])
    department_name: DepartmentName = ""
    part_code: str = Field(examples=["TAX-REG"])
    part_name: str = Field(examples=["税务登记"])
    time_limit_days: int = Field(ge=0, description="Committed limit in working days; 0 means immediate.")
    silence_means_yes: bool = Field(default=False, description="超时默许 may apply to this part.")


class MaterialFile(BaseModel):
    """A file the applicant brought, stored once by its SHA-256 (shared/materials): each version of each
    material of a part. A supplement adds a version; none is overwritten."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(examples=["经营场所平面图"])
    version: int = Field(default=1, ge=1, description="1, then 2, 3... as supplements bring the material again.")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="The content's SHA-256: check the bytes you fetch against it.")
    size: int = Field(ge=0, description="Bytes.")
    media_type: str = Field(examples=["application/pdf"], description="As found in the content, not from the file's name.")
    url: str = Field(
        description="Where the department fetches it: relative to the center's intake address, with the department's "
        "token (docs/integration.md, 'Materials').",
        examples=["/api/v1/materials/9f86d0…?case_id=LB20261123A1B2C3D4E5F6"],
    )


class TransferOrigin(BaseModel):
    """Where a case filed by the exchange came from: the sending center's case and part (转报)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    center: str = Field(examples=["xihu"])
    center_name: str = Field(examples=["西湖区行政服务中心"])
    division: str = Field(examples=["330106"], description="区划代码 of the sending center.")
    serial: str = Field(description="申办流水号: the sending center's case id.")
    work_order_id: str = Field(description="The sending center's part, whose result this case's decision becomes.")
    counted_days: int = Field(ge=0, description="Working days the sending center had counted when it transferred.")


class CaseSubmitted(EventData):
    """The lead window took a joint case; every department receives its part at once (抄告各方)."""

    event_type: ClassVar[str] = "cn.lianban.case.submitted.v1"

    case_id: str
    center: str
    matter_code: str = Field(examples=["JM-ENT-001"])
    matter_name: str = Field(examples=["企业设立登记联办"])
    lead_department: str
    applicant: Applicant
    parts: list[PartSummary] = Field(min_length=1)
    pre_review_days: int = Field(ge=0, description="Working days each department has to answer the pre-review.")
    overall_days: int = Field(ge=0, description="The case's overall limit in working days after acceptance.")
    green_channel: bool = False
    previous_case_id: str | None = Field(default=None, description="The first application, for a second one after rectification.")
    staff_id: StaffId
    submitted_at: datetime
    query_code_sha256: str = Field(
        default="", description="The applicant's query code (查询码), hashed with the case id; the code itself never travels."
    )
    transferred_from: TransferOrigin | None = Field(
        default=None, description="A part another center transferred here to decide (转报); its limit is what remains."
    )


class WorkOrder(EventData):
    """A department's share of a case, on that department's own work topic: check the materials
    (pre-review) and answer accept, supplement or refuse. Sent again, with the next round number,
    after the applicant has supplemented."""

    event_type: ClassVar[str] = "cn.lianban.work_order.issued.v1"

    work_order_id: str = Field(description="Unique per case and department; the department's idempotency key.")
    round: int = Field(default=1, ge=1, description="1, then 2, 3... after each supplement.")
    case_id: str
    center: str
    matter_code: str
    department: str
    part_code: str
    part_name: str
    applicant: Applicant
    materials: dict[str, str] = Field(
        default_factory=dict,
        description="Material name to its reference: `sha256:<hex>` for a file stored by the center (details in "
        "material_files), else a reference the window was given (a link into another system).",
        examples=[{"营业执照申请书": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}],
    )
    material_files: list[MaterialFile] = Field(
        default_factory=list, description="Every stored file of the part, every version, to fetch and check."
    )
    time_limit_days: int = Field(ge=0)
    pre_review_days: int = Field(ge=0)
    issued_at: datetime


class HandlingStarted(EventData):
    """The case is accepted (受理): every department handles its part now, its clock runs."""

    event_type: ClassVar[str] = "cn.lianban.work_order.handling_started.v1"

    work_order_id: str
    case_id: str
    department: str
    part_code: str
    part_name: str
    applicant: Applicant
    materials: dict[str, str]
    material_files: list[MaterialFile] = Field(default_factory=list)
    time_limit_days: int = Field(ge=0)
    accepted_at: datetime
    transfer_to: str | None = Field(
        default=None,
        description="初审转报: this center's department reviews first and the parent center (this code) decides. Answer "
        "with a `transfer` action (your first-review opinion), not a decision; the decision comes back from there.",
    )
    transfer_to_name: str = Field(default="", description="The parent center's Chinese name.")


class WorkClosed(EventData):
    """The case ended without this department's decision (another department refused it at pre-review):
    close the work on your side; nothing more is asked of you for this work order."""

    event_type: ClassVar[str] = "cn.lianban.work_order.closed.v1"

    work_order_id: str
    case_id: str
    department: str
    case_state: CaseState
    reason: str = Field(description="Why the work closed, as staff read it, in Chinese.")
    closed_at: datetime


class DepartmentActed(EventData):
    """A department's action on its part, as its system or staff took it: a request, checked by the case."""

    event_type: ClassVar[str] = "cn.lianban.department.action.v1"

    case_id: str
    work_order_id: str
    department: str
    staff_id: StaffId
    acted_at: datetime
    action: DepartmentAction


class DeemedApprovalIssued(DepartmentActed):
    """超时默许 on a silent department's behalf. Believed because only supervision may write the topic it
    travels on, never because of its `staff_id`; the same action on a department's topic is refused."""

    event_type: ClassVar[str] = "cn.lianban.supervision.deemed_approval.v1"


class PartActionRecorded(EventData):
    """A department's action was allowed and recorded; the part (and maybe the case) moved on."""

    event_type: ClassVar[str] = "cn.lianban.part.action_recorded.v1"

    case_id: str
    work_order_id: str
    department: str
    staff_id: StaffId
    acted_at: datetime = Field(description="When the department acted, as it stated (and signed) it.")
    received_at: datetime | None = Field(
        default=None, description="When Lianban received the action; absent in older events, where it was acted_at."
    )
    action: DepartmentAction
    part_state: PartState
    case_state: CaseState
    signed_event: dict[str, Any] | None = Field(
        default=None,
        description="The action exactly as the department sent it, signature attributes included (lbsig, lbsigkey, "
        "lbsigalg), so that anyone can check the signature later (docs/evidence.md); None for an unsigned action.",
    )


class RefusalRule(StrEnum):
    """Which rule an action broke, for supervision to classify violations."""

    NOT_ACCEPTED_YET = "not_accepted_yet"  # handling or deciding before acceptance
    NO_WORK_ORDER = "no_work_order"  # a department with no part (no work order) in the case
    MISSING_LEGAL_BASIS = "missing_legal_basis"  # a denial or refusal without its legal basis
    INCOMPLETE = "incomplete"  # a required detail is missing (document number, named head...)
    OUT_OF_ORDER = "out_of_order"  # any other step the case's state does not allow now
    IMPERSONATION = "impersonation"  # an action naming another department than the topic proves, or a forged deemed approval
    UNSIGNED = "unsigned"  # not signed by a key registered for the department, or altered after signing


class ActionRefused(EventData):
    """An action the rules do not allow now; nothing changed. Supervision keeps every one."""

    event_type: ClassVar[str] = "cn.lianban.action.refused.v1"

    case_id: str
    work_order_id: str | None = None
    department: str | None = None
    staff_id: StaffId | None = None
    action_kind: str
    action: dict[str, Any]
    rule: RefusalRule = RefusalRule.OUT_OF_ORDER
    reason: str
    refused_at: datetime


class CaseAccepted(EventData):
    """受理: every department accepted at pre-review; the handling clocks start now."""

    event_type: ClassVar[str] = "cn.lianban.case.accepted.v1"

    case_id: str
    accepted_at: datetime
    parts: list[PartSummary]


class NoticeItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    department_name: DepartmentName = ""
    material: str
    reason: str


class SupplementRequested(EventData):
    """一次性告知: one notice to the applicant with everything every department found missing."""

    event_type: ClassVar[str] = "cn.lianban.case.supplement_requested.v1"

    case_id: str
    round: int
    items: list[NoticeItem] = Field(min_length=1)
    notice: str = Field(description="The notice as the applicant reads it, in Chinese.")
    requested_at: datetime


class CaseSupplemented(EventData):
    """The applicant brought what the notice asked for; the same case goes back to pre-review."""

    event_type: ClassVar[str] = "cn.lianban.case.supplemented.v1"

    case_id: str
    round: int
    materials: dict[str, dict[str, str]]
    material_files: list[MaterialFile] = Field(default_factory=list, description="The stored files brought, as new versions.")
    staff_id: StaffId
    supplemented_at: datetime


class RefusalReason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    reason: str
    legal_basis: str


class CaseNotAccepted(EventData):
    """不予受理: a department refused at pre-review; every department's reasons are given."""

    event_type: ClassVar[str] = "cn.lianban.case.not_accepted.v1"

    case_id: str
    reasons: list[RefusalReason] = Field(min_length=1)
    decided_at: datetime


class Outcome(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    RECTIFICATION_REQUIRED = "rectification_required"
    NOT_ACCEPTED = "not_accepted"


class PartOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    department_name: DepartmentName = ""
    part_code: str
    part_name: str
    outcome: Outcome
    document_number: str | None = None
    documents: list[str] = Field(default_factory=list)
    certificates: list[Certificate] = Field(
        default_factory=list,
        description="电子证照 issued with the approval: the applicant fetches each at the gateway, "
        "/api/v1/cases/{case_id}/certificates/{sha256}, with the query code.",
    )
    legal_basis: str | None = None
    reason: str | None = None
    rectification_items: list[str] = Field(default_factory=list)
    deemed: bool = Field(default=False, description="Approved by silence (超时默许), not by the department.")
    decided_at: datetime | None = None
    decided_by_center: str | None = Field(
        default=None, description="初审转报: the Chinese name of the center whose department decided the part."
    )


class CaseConcluded(EventData):
    """Every department has decided its part (or the case was not accepted)."""

    event_type: ClassVar[str] = "cn.lianban.case.concluded.v1"

    case_id: str
    matter_name: str
    outcome: Outcome
    parts: list[PartOutcome]
    concluded_at: datetime


class DocumentsDelivered(EventData):
    """送达: the lead window handed the documents to the applicant."""

    event_type: ClassVar[str] = "cn.lianban.case.delivered.v1"

    case_id: str
    method: str = Field(examples=["窗口领取", "邮寄"])
    documents: list[str]
    staff_id: StaffId
    delivered_at: datetime


class CaseEvaluated(EventData):
    """好差评: the applicant's mark for the case, 1 to 5; a poor mark carries its reason."""

    event_type: ClassVar[str] = "cn.lianban.case.evaluated.v1"

    case_id: str
    score: int = Field(ge=1, le=5)
    reason: str | None = None
    evaluated_at: datetime


class UnifiedReply(EventData):
    """统一回复: one answer to the applicant once the case is concluded."""

    event_type: ClassVar[str] = "cn.lianban.case.replied.v1"

    case_id: str
    outcome: Outcome = Field(description="approved only when every part is approved.")
    message: str = Field(description="The reply as the applicant reads it, in Chinese.")
    parts: list[PartOutcome]
    replied_at: datetime


class SupervisionAlert(EventData):
    """A card, an urge, a shirking record or a deemed approval, on the alerts topic and, as a
    notice the department must acknowledge (回告), on the department's own work topic."""

    event_type: ClassVar[str] = "cn.lianban.supervision.alert.v1"

    alert_id: str
    case_id: str
    work_order_id: str
    department: str
    kind: AlertKind
    sequence: int = Field(default=1, description="The n-th alert of this kind for the part (urges repeat).")
    message: str = Field(description="The notice as department staff read it, in Chinese.")
    deadline: datetime | None
    issued_by: str = Field(description="supervision, or the lead window's staff id for an urge")
    issued_at: datetime
    evidence: dict[str, Any] = Field(default_factory=dict)


class AlertAcknowledged(EventData):
    """回告: the department confirms it received a supervision notice."""

    event_type: ClassVar[str] = "cn.lianban.supervision.acknowledged.v1"

    alert_id: str
    case_id: str
    department: str
    staff_id: StaffId
    acknowledged_at: datetime


class WorkReceived(EventData):
    """签收: the department side has taken a piece of work (a pre-review round or the handling) off its
    bridge, before deciding. Supervision raises 送达异常 for work nobody took in time; an action on the
    part counts as taken too, so a system that answers at once need not send this."""

    event_type: ClassVar[str] = "cn.lianban.work_order.received.v1"

    case_id: str
    work_order_id: str
    department: str
    work: str = Field(
        pattern=r"^(review[0-9]+|handle)$",
        description="Which work: `review<round>` (pre-review) or `handle`.",
        examples=["review1"],
    )
    received_at: datetime = Field(description="When the department side took it (its own clock).")


class WaitingWork(BaseModel):
    """One piece of work the bridge holds that the department side has not taken yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    work_order_id: str
    work: str
    since: datetime


class BridgeReport(EventData):
    """How one department's bridge stands, sent by its adapter every few seconds: what waits for the
    department side, when that side was last heard from, and what the bridge kind adds (the ferry's
    last bundles and gaps, the intermediate database's last poll, the mirror's lag)."""

    event_type: ClassVar[str] = "cn.lianban.bridge.report.v1"

    department: str
    bridge: str = Field(examples=["ferry"], description="http, ferry, database or kafka.")
    reported_at: datetime
    waiting: int = Field(ge=0, description="Work the bridge holds that the department side has not taken.")
    oldest_waiting: list[WaitingWork] = Field(default_factory=list, description="The oldest of them, at most 20.")
    last_contact_at: datetime | None = Field(description="When the department side was last heard from.")
    detail: dict[str, Any] = Field(default_factory=dict, description="What this kind of bridge adds.")


class DeliveryAlert(EventData):
    """送达异常: work the department side had not taken within the configured time (raised), or took
    at last (cleared). For the center's supervisors; the department is not sent a notice it cannot read."""

    event_type: ClassVar[str] = "cn.lianban.supervision.delivery_alert.v1"

    alert_id: str
    case_id: str
    work_order_id: str
    department: str
    work: str
    waiting_since: datetime
    raised_at: datetime
    cleared_at: datetime | None = Field(default=None, description="Set on the alert's second message, when the work was taken.")
    message: str = Field(description="As supervisors read it, in Chinese.")


ORIGINAL_KEPT = 64 * 1024  # of a dead letter's original: a 5 MB poison must not make a 5 MB dead letter


class DeadLetter(EventData):
    """A message that could not be handled, kept with its cause and origin so nothing is lost."""

    event_type: ClassVar[str] = "cn.lianban.dead_letter.v1"

    consumer: str
    error: str
    topic: str
    partition: int = Field(description="-1 for a message the broker refused, which was never on a topic.")
    offset: int
    key: str | None
    original: str = Field(description="The original message as text (undecodable bytes replaced), its first 64 KiB.")
    original_bytes: int = Field(default=0, description="The original's size: more than `original` when it was cut.")
    original_sha256: str = Field(default="", description="To recognise the original, whole.")
    department: str | None = Field(
        default=None,
        description="The department that sent the original (read from its own topic); it is told on its feedback topic.",
    )

    @classmethod
    def of(
        cls,
        *,
        consumer: str,
        error: str,
        topic: str,
        partition: int,
        offset: int,
        key: str | None,
        original: bytes,
        department: str | None = None,
    ) -> DeadLetter:
        """A dead letter that always fits on the dead-letter topic, however large what it carries."""
        return cls(
            consumer=consumer,
            error=error[:2000],
            topic=topic,
            partition=partition,
            offset=offset,
            key=key[:200] if key else key,
            original=original[:ORIGINAL_KEPT].decode(errors="replace"),
            original_bytes=len(original),
            original_sha256=hashlib.sha256(original).hexdigest(),
            department=department,
        )
