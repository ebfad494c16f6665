"""This center among the centers it exchanges cases with (docs/exchange.md): the records a transfer and
its decision travel as, the days the sender counted, and a transferred part filed as a case here.

A part the center reviews first and its parent decides (初审转报) goes up with the days it already used;
the parent files it as an accepted case whose limit is what remains, counted with the parent's own
calendar; the parent department's decision comes back as the part's. A town point (代办) sends up the
whole application instead, and gets the case's outcome back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.intake.domain.case import Application, ApplicationInvalid, open_case
from services.intake.domain.catalog import Catalog
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Part, Suspension
from shared.centers import Centers, Level
from shared.contracts import (
    AgentCaseConcluded,
    Approve,
    CaseConcluded,
    CaseFiledForApplicant,
    CaseState,
    DeemedApproval,
    Deny,
    DepartmentAction,
    EventData,
    ExchangeRecord,
    Outcome,
    PartState,
    PartTransferred,
    RequireRectification,
    Transfer,
    TransferDecided,
    TransferOrigin,
    TransferredPart,
)
from shared.workdays import CHINA, WorkingCalendar


class ExchangeRefused(ValueError):
    """A record this center cannot take from that sender; the reason is for its operators (a dead letter)."""


def counted_dates(calendar: WorkingCalendar, started_at: datetime, until: datetime, suspensions: list[Suspension]) -> list[date]:
    """The working days a part's clock ran from `started_at` to `until`, by this calendar: each working day
    after the start day up to and including the last, unless the part was suspended at the day's close."""
    days, day, last = [], started_at.astimezone(CHINA).date(), until.astimezone(CHINA).date()
    while day < last:
        day += timedelta(days=1)
        close = datetime.combine(day, calendar.day_end, tzinfo=CHINA)
        suspended = any(s.started_at <= close and (s.ended_at is None or close < s.ended_at) for s in suspensions)
        if calendar.is_working_day(day) and not suspended:
            days.append(day)
    return days


@dataclass(frozen=True)
class Exchange:
    center: str
    centers: Centers
    calendar: WorkingCalendar

    @property
    def parent(self) -> tuple[str, str] | None:
        """The code and name of the center that decides what this one reviews first, if there is one."""
        parent = self.centers.parent(self.center)
        return (parent, self.centers.name(parent)) if parent else None

    @property
    def peers(self) -> list[str]:
        return self.centers.peers(self.center)

    @property
    def files_for_applicants(self) -> bool:
        """A town point (便民服务中心) files every case at its district for the applicant (全程代办)."""
        return self.centers[self.center].level is Level.TOWN and self.parent is not None

    def filed_for_applicant(self, case: JointCase, materials: dict[str, dict[str, str]], at: datetime) -> CaseFiledForApplicant:
        """申办 of a case a town point took: the whole application, to its district."""
        assert self.parent is not None
        return CaseFiledForApplicant(
            serial=case.case_id,
            stage_id=case.case_id,
            matter_code=case.matter_code,
            **self._ends(self.parent[0]),
            sent_at=at,
            applicant=case.applicant,
            lead_department=case.lead_department,
            materials=materials,
            staff_id=case.staff_id,
            filed_at=case.submitted_at,
        )

    def filed_for_agent(self, record: CaseFiledForApplicant, catalog: Catalog, at: datetime) -> JointCase:
        """A case a town point below filed for its applicant, as this center's own (its catalog's rules checked
        again: ApplicationInvalid names what is wrong)."""
        joint = catalog.joint_matters.get(record.matter_code)
        if joint is None:
            raise ApplicationInvalid(
                [("matter_code", f"本中心目录无联办事项 {record.matter_code} (not in this center's catalog)")]
            )
        application = Application(
            record.matter_code,
            record.applicant,
            record.lead_department,
            f"{record.from_center}",
            f"{record.from_center}:{record.staff_id}"[:64],
            record.materials,
        )
        case = open_case(catalog, joint, application, record.serial, self.center, at, parent=self.parent)
        case.filed_by_agent = record.from_center
        return case

    def not_filed(self, record: CaseFiledForApplicant, problems: list[tuple[str, str]], at: datetime) -> AgentCaseConcluded:
        """What a town point is told when its filing cannot be taken here at all."""
        return AgentCaseConcluded(
            serial=record.serial,
            stage_id=record.serial,
            matter_code=record.matter_code,
            **self._ends(record.from_center),
            sent_at=at,
            outcome=Outcome.NOT_ACCEPTED,
            parts=[],
            reasons=[f"{field}: {reason}" for field, reason in problems],
            concluded_at=at,
        )

    def _ends(self, to: str) -> dict[str, str]:
        return {
            "from_center": self.center,
            "from_division": self.centers[self.center].division,
            "to_center": to,
            "to_division": self.centers[to].division,
        }

    def transferred(self, case: JointCase, part: Part, staff_id: str, opinion: str, at: datetime) -> PartTransferred:
        """转报 of a part its department has just reviewed first: up to the parent, with the days counted here."""
        assert part.transfer is not None
        assert part.transferred_at is not None
        assert case.accepted_at is not None
        counted = counted_dates(self.calendar, case.accepted_at, part.transferred_at, part.suspensions)
        return PartTransferred(
            serial=case.case_id,
            stage_id=part.work_order_id,
            matter_code=part.transfer.matter_code,
            **self._ends(part.transfer.center),
            sent_at=at,
            matter_name=case.matter_name,
            applicant=case.applicant,
            part=TransferredPart(
                department=part.department,
                part_code=part.part_code,
                part_name=part.part_name,
                time_limit_days=part.time_limit_days,
                materials=part.materials,
                material_files=part.files,
            ),
            accepted_at=case.accepted_at,
            transferred_at=part.transferred_at,
            staff_id=staff_id,
            opinion=opinion,
            counted_days=len(counted),
            counted_dates=counted,
        )

    def filed(self, record: PartTransferred, catalog: Catalog, at: datetime) -> JointCase:
        """A transferred part as a case of this center: accepted already (at the sender), handled by this
        center's department of the same code under the matter the record names, its limit what remains."""
        matter = catalog.matters.get(record.matter_code)
        if matter is None or matter.department != record.part.department:
            raise ExchangeRefused(
                f"本中心目录无 {record.part.department} 的事项 {record.matter_code} "
                f"(no matter {record.matter_code} of {record.part.department} in this center's catalog)"
            )
        sender = self.centers.name(record.from_center)
        remaining = max(0, matter.committed_days - record.counted_days)
        part = Part(
            work_order_id=f"{record.serial}-{matter.department}",
            department=matter.department,
            department_name=catalog.departments[matter.department].name,
            part_code=matter.code,
            part_name=matter.name,
            time_limit_days=remaining,
            silence_means_yes=matter.silence_means_yes,
            materials=record.part.materials,
            files=record.part.material_files,
            state=PartState.HANDLING,
        )
        return JointCase(
            case_id=record.serial,
            center=self.center,
            matter_code=matter.code,
            matter_name=f"{matter.name}（{sender}转报）",
            lead_department=matter.department,
            applicant=record.applicant,
            staff_id=record.staff_id,
            pre_review_days=0,
            overall_days=remaining,
            submitted_at=at,
            state=CaseState.HANDLING,
            parts=[part],
            accepted_at=at,
            transferred_from=TransferOrigin(
                center=record.from_center,
                center_name=sender,
                division=record.from_division,
                serial=record.serial,
                work_order_id=record.stage_id,
                counted_days=record.counted_days,
            ),
        )

    def follow_up(
        self, case: JointCase, department: str, staff_id: str, action: DepartmentAction, events: list[EventData], at: datetime
    ) -> list[EventData]:
        """The exchange records a department's step sends: a part transferred up, or, when the case a transfer
        filed here is concluded, its decision back."""
        if isinstance(action, Transfer):
            return [self.transferred(case, case.part_of(department), staff_id, action.opinion, at)]
        return self.concluded(case, events, at)

    def concluded(self, case: JointCase, events: list[EventData], at: datetime) -> list[EventData]:
        """When a case concludes here, what goes back: a transferred part's decision, a town point's outcome."""
        conclusion = next((e for e in events if isinstance(e, CaseConcluded)), None)
        if conclusion is None:
            return []
        home: list[EventData] = [self.decided(case, at)] if case.transferred_from is not None else []
        if case.filed_by_agent is not None:
            home.append(
                AgentCaseConcluded(
                    serial=case.case_id,
                    stage_id=case.case_id,
                    matter_code=case.matter_code,
                    **self._ends(case.filed_by_agent),
                    sent_at=at,
                    outcome=conclusion.outcome,
                    parts=conclusion.parts,
                    concluded_at=conclusion.concluded_at,
                )
            )
        return home

    def decided(self, case: JointCase, at: datetime) -> TransferDecided:
        """办结 of a transferred part, back to the center that sent it: this center's department's decision
        (a deemed approval here travels as the approval it is, under its number)."""
        origin, part = case.transferred_from, case.parts[0]
        decision = part.decision
        if isinstance(decision, DeemedApproval):
            decision = Approve(
                document_number=decision.document_number, documents=[f"超时默许决定（{decision.document_number}）"]
            )
        assert origin is not None
        assert isinstance(decision, Approve | Deny | RequireRectification)
        assert part.decided_at is not None
        return TransferDecided(
            serial=origin.serial,
            stage_id=origin.work_order_id,
            matter_code=case.matter_code,
            **self._ends(origin.center),
            sent_at=at,
            department=part.department,
            department_name=part.department_name,
            staff_id=part.decided_by or case.staff_id,
            decision=decision,
            decided_at=part.decided_at,
        )

    def refusal(self, record: ExchangeRecord, sender: str) -> str | None:
        """Why a record `sender` proved its own (shared/exchange.py) cannot be taken here, if it cannot."""
        if isinstance(record, PartTransferred | CaseFiledForApplicant) and self.centers.parent(sender) != self.center:
            return f"{sender} 不是本中心的下级，不能转报或代办 (only this center's children transfer parts or file cases here)"
        if isinstance(record, TransferDecided | AgentCaseConcluded) and self.centers.parent(self.center) != sender:
            return f"{sender} 不是本中心的上级 (only this center's parent decides what this center sent it)"
        return None
