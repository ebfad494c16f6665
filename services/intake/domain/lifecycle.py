"""The joint case and its department parts as explicit state machines.

"One receives, all are told, all accept at once, done in time": the lead window files the case
and every department pre-reviews its part at once; the case is accepted only when all accept,
comes back to the applicant once with every department's list when any asks for a supplement,
and is not accepted when any refuses. Then every department handles its part in parallel; when
all have decided, the case is concluded with one outcome.

Every method either returns the events it caused or raises `Refused` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from services.intake.domain.part import DECIDED, Extension, FileFacts, Part, Suspension, require
from shared.contracts import (
    STATE_TEXT,
    Applicant,
    Approve,
    CaseAccepted,
    CaseConcluded,
    CaseEvaluated,
    CaseNotAccepted,
    CaseState,
    CaseSubmitted,
    CaseSupplemented,
    DecideExtension,
    DeemedApproval,
    Deny,
    DepartmentAction,
    DocumentsDelivered,
    EventData,
    HandlingStarted,
    NoticeItem,
    Outcome,
    PartActionRecorded,
    PartOutcome,
    PartState,
    RefusalReason,
    RefusalRule,
    Refuse,
    RequestExtension,
    RequestSupplement,
    RequireRectification,
    SupplementRequested,
    Suspend,
    TransferOrigin,
    WorkClosed,
    WorkOrder,
)
from shared.personal_data import query_code_digest


@dataclass(frozen=True)
class Moment:
    """The two times of a department's action: `at`, when Lianban takes it (the case's own steps, such as
    acceptance or conclusion, happen then), and `stated`, when the department says it acted (its signed
    time, kept on the part: decisions, suspensions and extensions are the department's acts)."""

    at: datetime
    stated: datetime


SUPERVISION = "supervision"  # the staff id of electronic supervision's own actions
FINAL_CASE_STATES = (CaseState.NOT_ACCEPTED, CaseState.CONCLUDED)


class JointCase(BaseModel):
    case_id: str
    center: str
    matter_code: str
    matter_name: str
    lead_department: str
    applicant: Applicant
    staff_id: str
    query_code: str = Field(
        default="", description="查询码: printed on the applicant's receipt; with it the applicant reads the case."
    )
    pre_review_days: int
    overall_days: int
    green_channel: bool = False
    previous_case_id: str | None = None
    submitted_at: datetime
    state: CaseState = CaseState.PRE_REVIEW
    round: int = 1
    parts: list[Part]
    accepted_at: datetime | None = None
    concluded_at: datetime | None = None
    outcome: Outcome | None = None
    delivery: DocumentsDelivered | None = None
    evaluation: CaseEvaluated | None = None
    transferred_from: TransferOrigin | None = None  # a part another center transferred here to decide (转报)
    filed_by_agent: str | None = None  # 代办: the town point that filed this case here for the applicant
    handled_at: str | None = None  # 代办 at a town point: the center this case was filed at and is handled by

    # -- what is owed -------------------------------------------------------------------------

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_CASE_STATES

    def owes_next_step(self) -> list[str]:
        """The departments that owe the next step; empty only for a final case."""
        if self.state is CaseState.PRE_REVIEW:
            return [p.department for p in self.parts if p.state is PartState.FORWARDED]
        if self.state is CaseState.AWAITING_SUPPLEMENT:
            return [self.lead_department]  # the lead window takes the applicant's supplement
        if self.state is CaseState.HANDLING:
            open_ = (PartState.HANDLING, PartState.SUSPENDED, PartState.TRANSFERRED)  # a transferred part: decided above
            return [p.department for p in self.parts if p.state in open_]
        return []

    def part_of(self, department: str) -> Part:
        part = next((p for p in self.parts if p.department == department), None)
        require(
            part is not None,
            f"{department} 在本案中没有办理事项 (the department has no part in case {self.case_id})",
            RefusalRule.NO_WORK_ORDER,
        )
        assert part is not None
        return part

    # -- opening ------------------------------------------------------------------------------

    def opening(self, at: datetime) -> list[EventData]:
        """抄告各方: the case as filed, and every department's work order, at the same time."""
        return [self._submitted(at), *(self.work_order(p, at) for p in self.parts)]

    def opening_transferred(self, at: datetime) -> list[EventData]:
        """A part another center accepted and transferred here (转报): filed and accepted at once, its
        department handling it now; the pre-review was the sending center's."""
        return [self._submitted(at), self._accepted(at), *(self._handling_started(p, at) for p in self.parts)]

    def opening_for_applicant(self, at: datetime) -> list[EventData]:
        """代办 at a town point: the case as filed here, for following it; its work goes to the center handling it."""
        return [self._submitted(at)]

    def concluded_elsewhere(self, outcome: Outcome, parts: list[PartOutcome], at: datetime) -> list[EventData]:
        """The center a town point filed this case at concluded it: its outcome and every part's, for the one
        reply the town hands over."""
        require(self.handled_at is not None and not self.is_final, "本件不在代办中 (not a case awaiting its handling center)")
        self.state = CaseState.NOT_ACCEPTED if outcome is Outcome.NOT_ACCEPTED else CaseState.CONCLUDED
        self.outcome, self.concluded_at = outcome, at
        return [CaseConcluded(case_id=self.case_id, matter_name=self.matter_name, outcome=outcome, parts=parts, concluded_at=at)]

    def _submitted(self, at: datetime) -> CaseSubmitted:
        return CaseSubmitted(
            case_id=self.case_id,
            center=self.center,
            matter_code=self.matter_code,
            matter_name=self.matter_name,
            lead_department=self.lead_department,
            applicant=self.applicant,
            parts=[p.summary() for p in self.parts],
            pre_review_days=self.pre_review_days,
            overall_days=self.overall_days,
            green_channel=self.green_channel,
            previous_case_id=self.previous_case_id,
            staff_id=self.staff_id,
            submitted_at=at,
            query_code_sha256=query_code_digest(self.case_id, self.query_code) if self.query_code else "",
            transferred_from=self.transferred_from,
        )

    def _accepted(self, at: datetime) -> CaseAccepted:
        return CaseAccepted(case_id=self.case_id, accepted_at=at, parts=[p.summary() for p in self.parts])

    def _handling_started(self, part: Part, at: datetime) -> HandlingStarted:
        return HandlingStarted(
            work_order_id=part.work_order_id,
            case_id=self.case_id,
            department=part.department,
            part_code=part.part_code,
            part_name=part.part_name,
            applicant=self.applicant,
            materials=part.materials,
            material_files=part.files,
            time_limit_days=part.time_limit_days,
            accepted_at=at,
            transfer_to=part.transfer.center if part.transfer else None,
            transfer_to_name=part.transfer.center_name if part.transfer else "",
        )

    def work_order(self, part: Part, at: datetime) -> WorkOrder:
        return WorkOrder(
            work_order_id=part.work_order_id,
            round=part.round,
            case_id=self.case_id,
            center=self.center,
            matter_code=self.matter_code,
            department=part.department,
            part_code=part.part_code,
            part_name=part.part_name,
            applicant=self.applicant.model_copy(update={"phone": None}),  # what the department needs, no more
            materials=part.materials,
            material_files=part.files,
            time_limit_days=part.time_limit_days,
            pre_review_days=self.pre_review_days,
            issued_at=at,
        )

    # -- department actions -------------------------------------------------------------------

    def act(
        self,
        department: str,
        staff_id: str,
        action: DepartmentAction,
        at: datetime,
        acted_at: datetime | None = None,
        stored: Collection[str] = (),
    ) -> list[EventData]:
        """`at` is when Lianban takes the action (the case's own steps happen then); `acted_at`, when the
        department says it acted (its signed time), is what the part records. `stored`: the SHA-256s of the
        files the center holds among those the action names (an approval's certificates)."""
        require(
            self.handled_at is None,
            f"本件已代办至 {self.handled_at}，由其受理和办理 (filed for the applicant at {self.handled_at}, handled there)",
        )
        part = self.part_of(department)
        stated = acted_at or at
        if isinstance(action, Approve):
            unknown = [c.name for c in action.certificates if c.sha256 not in stored]
            require(
                not unknown,
                f"证照文件未上传：{'、'.join(unknown)} (upload the certificates first: POST /api/v1/materials)",
                RefusalRule.INCOMPLETE,
            )
        handler = {
            "accept": self._pre_review,
            "supplement": self._pre_review,
            "refuse": self._pre_review,
            "approve": self._decide,
            "deny": self._decide,
            "rectify": self._decide,
            "deemed_approve": self._decide,
            "suspend": self._suspend,
            "resume": self._resume,
            "request_extension": self._request_extension,
            "decide_extension": self._decide_extension,
            "transfer": self._transfer,
        }[action.kind]
        follow_up = handler(part, staff_id, action, Moment(at, stated))
        recorded = PartActionRecorded(
            case_id=self.case_id,
            work_order_id=part.work_order_id,
            department=department,
            staff_id=staff_id,
            acted_at=stated,
            received_at=at,
            action=action,
            part_state=part.state,
            case_state=self.state,
        )
        return [recorded, *follow_up]

    def _pre_review(self, part: Part, _staff: str, action: DepartmentAction, when: Moment) -> list[EventData]:
        require(
            self.state is CaseState.PRE_REVIEW,
            f"案件当前为「{STATE_TEXT[self.state]}」，不在受理审查阶段 (pre-review is over for this case)",
        )
        require(
            part.state is PartState.FORWARDED,
            f"本部门本轮预审已答复 (this department already answered round {part.round} of pre-review)",
        )
        if isinstance(action, Refuse):
            require(
                bool(action.reason and action.legal_basis),
                "不予受理须说明理由和法律依据 (a refusal needs its reason and legal basis)",
                RefusalRule.MISSING_LEGAL_BASIS,
            )
            part.state, part.refusal, part.decided_at = PartState.PRE_REFUSED, action, when.stated
        elif isinstance(action, RequestSupplement):
            part.state, part.supplement_items = PartState.SUPPLEMENT_REQUESTED, list(action.items)
        else:
            part.state = PartState.PRE_ACCEPTED
        return self._consolidate_pre_review(when.at)

    def _consolidate_pre_review(self, at: datetime) -> list[EventData]:
        """Once every department has answered, the lead decides by the rule (the lead's 受理决定)."""
        if any(p.state is PartState.FORWARDED for p in self.parts):
            return []
        refused = [p for p in self.parts if p.state is PartState.PRE_REFUSED]
        if refused:
            self.state, self.concluded_at, self.outcome = CaseState.NOT_ACCEPTED, at, Outcome.NOT_ACCEPTED
            reasons = [
                RefusalReason(department=p.department, reason=p.refusal.reason or "", legal_basis=p.refusal.legal_basis or "")
                for p in refused
                if p.refusal
            ]
            refusers = "、".join(r.department_name or r.department for r in refused)
            closed = [
                WorkClosed(
                    work_order_id=p.work_order_id,
                    case_id=self.case_id,
                    department=p.department,
                    case_state=self.state,
                    reason=f"本案因{refusers}不予受理而办结，本部门无需再办理",
                    closed_at=at,
                )
                for p in self.parts
                if p.state is not PartState.PRE_REFUSED
            ]
            return [CaseNotAccepted(case_id=self.case_id, reasons=reasons, decided_at=at), self._concluded(at), *closed]
        asking = [p for p in self.parts if p.state is PartState.SUPPLEMENT_REQUESTED]
        if asking:
            self.state = CaseState.AWAITING_SUPPLEMENT
            items = [
                NoticeItem(department=p.department, department_name=p.department_name, material=i.material, reason=i.reason)
                for p in asking
                for i in p.supplement_items
            ]
            return [
                SupplementRequested(
                    case_id=self.case_id,
                    round=self.round,
                    items=items,
                    notice=one_time_notice(self.matter_name, items),
                    requested_at=at,
                )
            ]
        self.state, self.accepted_at = CaseState.HANDLING, at
        for p in self.parts:
            p.state = PartState.HANDLING
        return [self._accepted(at), *(self._handling_started(p, at) for p in self.parts)]

    def _require_handling(self, part: Part) -> None:
        require(
            self.state not in (CaseState.PRE_REVIEW, CaseState.AWAITING_SUPPLEMENT),
            "案件尚未受理，不能办理或作出决定 (the case is not accepted yet: no handling before acceptance)",
            RefusalRule.NOT_ACCEPTED_YET,
        )
        require(self.state is CaseState.HANDLING, f"案件已「{STATE_TEXT[self.state]}」 (the case is closed)")
        require(part.state is not PartState.SUSPENDED, "本部门办理已中止，须先恢复 (the part is suspended; resume it first)")
        require(
            part.state is not PartState.TRANSFERRED,
            f"本事项已转报{part.transfer.center_name if part.transfer else '上级中心'}，由其作出决定 "
            "(the part was transferred; the decision comes from the parent center)",
        )
        require(part.state is PartState.HANDLING, f"本部门已作出决定「{part.state}」 (the part is already decided)")

    def _decide(self, part: Part, staff: str, action: DepartmentAction, when: Moment) -> list[EventData]:
        self._require_handling(part)
        if isinstance(action, Approve):
            require(
                bool(action.document_number),
                "准予决定须有文书或证照编号 (an approval needs its document number)",
                RefusalRule.INCOMPLETE,
            )
            part.state = PartState.APPROVED
        elif isinstance(action, Deny):
            require(
                bool(action.legal_basis and action.reason),
                "不予许可须说明法律依据和理由 (a denial needs its legal basis and reason)",
                RefusalRule.MISSING_LEGAL_BASIS,
            )
            part.state = PartState.DENIED
        elif isinstance(action, DeemedApproval):
            require(staff == SUPERVISION, "超时默许只能由电子监察作出 (only supervision issues a deemed approval)")
            require(part.silence_means_yes, "本事项不适用超时默许 (silence does not mean yes for this matter)")
            # supervision keeps the clock; its evidence must at least hang together
            require(
                all(u > action.deadline for u in action.urged_at),
                "超时默许须在期限届满并催办之后 (a deemed approval follows the deadline and the urging)",
                RefusalRule.INCOMPLETE,
            )
            require(
                not any(e.approved for e in part.extensions),
                "已批准延期的事项不适用超时默许 (an approved extension rules out silence means yes)",
            )
            part.state = PartState.APPROVED
        else:
            part.state = PartState.RECTIFICATION_REQUIRED
        assert isinstance(action, Approve | Deny | RequireRectification | DeemedApproval)
        part.decision, part.decided_at, part.decided_by = action, when.stated, staff
        if part.pending_extension:
            part.pending_extension.approved, part.pending_extension.decided_at = False, when.stated  # moot once decided
        if all(p.state in DECIDED for p in self.parts):
            self.state, self.concluded_at = CaseState.CONCLUDED, when.at
            self.outcome = conclude([p.state for p in self.parts])
            return [self._concluded(when.at)]
        return []

    def _concluded(self, at: datetime) -> CaseConcluded:
        assert self.outcome is not None
        return CaseConcluded(
            case_id=self.case_id,
            matter_name=self.matter_name,
            outcome=self.outcome,
            parts=[p.outcome() for p in self.parts],
            concluded_at=at,
        )

    def _transfer(self, part: Part, _staff: str, _action: DepartmentAction, when: Moment) -> list[EventData]:
        """初审转报: the department's first review is done; the part waits for the parent center's decision.
        The exchange record that carries it up is the service layer's (it counts the days with the calendar)."""
        self._require_handling(part)
        require(
            part.transfer is not None,
            "本事项由本中心决定，无需转报 (this part is decided at this center: nothing to transfer)",
        )
        part.state, part.transferred_at = PartState.TRANSFERRED, when.stated
        return []

    def transfer_decided(
        self, department: str, staff_id: str, decision: Approve | Deny | RequireRectification, at: datetime, decided_at: datetime
    ) -> list[EventData]:
        """The parent center's department decided a part this center transferred: its decision is the part's.
        Its certificates stay with the center that issued them (their files are there)."""
        part = self.part_of(department)
        require(part.state is PartState.TRANSFERRED, f"本事项未在转报中「{part.state}」 (the part is not awaiting a transfer)")
        part.state = PartState.HANDLING  # decided below as the department's own, by the same rules
        if isinstance(decision, Approve):
            decision = decision.model_copy(update={"certificates": []})
        return self.act(department, staff_id, decision, at, decided_at)

    def _suspend(self, part: Part, _staff: str, action: DepartmentAction, when: Moment) -> list[EventData]:
        self._require_handling(part)
        assert isinstance(action, Suspend)
        require(
            action.applicant_notified_on is not None,
            "中止计时须事先告知申请人并记录告知日期 (a suspension needs the date the applicant was told)",
            RefusalRule.INCOMPLETE,
        )
        assert action.applicant_notified_on is not None
        part.state = PartState.SUSPENDED
        part.suspensions.append(
            Suspension(
                kind=action.suspension_kind,
                reason=action.reason,
                applicant_notified_on=action.applicant_notified_on,
                started_at=when.stated,
            )
        )
        return []

    def _resume(self, part: Part, _staff: str, _action: DepartmentAction, when: Moment) -> list[EventData]:
        require(part.state is PartState.SUSPENDED, "本部门办理未中止 (the part is not suspended)")
        part.state = PartState.HANDLING
        part.suspensions[-1].ended_at = when.stated
        return []

    def _request_extension(self, part: Part, staff: str, action: DepartmentAction, when: Moment) -> list[EventData]:
        require(
            self.state is CaseState.HANDLING and part.state in (PartState.HANDLING, PartState.SUSPENDED),
            "只有办理中的事项可以申请延期 (only a part being handled can be extended)",
        )
        require(part.pending_extension is None, "已有待批准的延期申请 (an extension is already awaiting approval)")
        assert isinstance(action, RequestExtension)
        part.extensions.append(Extension(days=action.days, reason=action.reason, requested_by=staff, requested_at=when.stated))
        return []

    def _decide_extension(self, part: Part, _staff: str, action: DepartmentAction, when: Moment) -> list[EventData]:
        pending = part.pending_extension
        require(pending is not None, "没有待批准的延期申请 (no extension is awaiting a decision)")
        assert isinstance(action, DecideExtension)
        assert pending is not None
        require(
            bool(action.approver_name and action.approver_title),
            "延期须经具名的部门负责人批准 (an extension needs a named department head)",
            RefusalRule.INCOMPLETE,
        )
        pending.approved, pending.decided_at = action.approved, when.stated
        pending.approver_name, pending.approver_title = action.approver_name, action.approver_title
        return []

    # -- lead window actions ------------------------------------------------------------------

    def supplement(
        self, materials: dict[str, dict[str, str]], staff_id: str, at: datetime, known: FileFacts | None = None
    ) -> list[EventData]:
        """The applicant brings what the one-time notice listed; the same case is pre-reviewed again. A stored
        file (`known` gives its size and type) is added as the next version of its material, never over one."""
        require(self.state is CaseState.AWAITING_SUPPLEMENT, "本案没有待补正的告知 (the case awaits no supplement)")
        asking = {p.department: p for p in self.parts if p.state is PartState.SUPPLEMENT_REQUESTED}
        strangers = sorted(set(materials) - set(asking))
        require(not strangers, f"这些部门未要求补正：{'、'.join(strangers)} (they asked for nothing)")
        missing = [
            f"{d}:{i.material}" for d, p in asking.items() for i in p.supplement_items if not materials.get(d, {}).get(i.material)
        ]
        require(not missing, f"补正材料不全：{'、'.join(missing)} (the supplement lacks these)", RefusalRule.INCOMPLETE)
        self.round += 1
        self.state = CaseState.PRE_REVIEW
        brought = [f for d, part in asking.items() for f in part.take_files(self.case_id, materials[d], known or {})]
        events: list[EventData] = [
            CaseSupplemented(
                case_id=self.case_id,
                round=self.round,
                materials=materials,
                material_files=brought,
                staff_id=staff_id,
                supplemented_at=at,
            )
        ]
        for department, part in asking.items():
            part.materials = {**part.materials, **materials[department]}
            part.state, part.round, part.supplement_items = PartState.FORWARDED, self.round, []
            events.append(self.work_order(part, at))
        return events

    def deliver(self, method: str, staff_id: str, at: datetime) -> list[EventData]:
        require(self.is_final, "案件尚未办结，无可送达的文书 (nothing to deliver before the case is concluded)")
        require(self.delivery is None, "文书已送达 (the documents were already delivered)")
        documents = [
            d
            for p in self.parts
            if isinstance(p.decision, Approve)
            for d in (p.decision.documents or [p.decision.document_number or ""])
        ]
        documents += [p.decision.document_number for p in self.parts if isinstance(p.decision, DeemedApproval)]
        documents += [f"{p.part_name}不予许可决定书" for p in self.parts if isinstance(p.decision, Deny)]
        self.delivery = DocumentsDelivered(
            case_id=self.case_id, method=method, documents=documents, staff_id=staff_id, delivered_at=at
        )
        return [self.delivery]

    def evaluate(self, score: int, reason: str | None, at: datetime) -> list[EventData]:
        require(self.is_final, "案件办结后方可评价 (a case is evaluated once concluded)")
        require(self.evaluation is None, "本案已评价 (the case was already evaluated)")
        require(1 <= score <= 5, "评价为1至5分 (the score is 1 to 5)")
        require(score > 2 or bool(reason), "差评须说明理由 (a poor mark needs its reason)", RefusalRule.INCOMPLETE)
        self.evaluation = CaseEvaluated(case_id=self.case_id, score=score, reason=reason, evaluated_at=at)
        return [self.evaluation]


def conclude(states: list[PartState]) -> Outcome:
    if PartState.DENIED in states:
        return Outcome.DENIED
    if PartState.RECTIFICATION_REQUIRED in states:
        return Outcome.RECTIFICATION_REQUIRED
    return Outcome.APPROVED


def one_time_notice(matter_name: str, items: list[NoticeItem]) -> str:
    lines = [f"您申请的「{matter_name}」需补正以下材料（一次性告知），请一并补齐后到牵头窗口提交："]
    lines += [f"{n}. {i.material}（{i.department_name or i.department}）：{i.reason}" for n, i in enumerate(items, 1)]
    return "\n".join(lines)
