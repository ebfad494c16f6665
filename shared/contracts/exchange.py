"""Records one center sends another (docs/exchange.md): keyed as provincial platforms key theirs, by the
application serial number (申办流水号), the stage and the stage's id, with the matter code (事项编码) and
the division codes (区划代码) of both ends. At least once on the wire, once in effect: a receiver applies
a record's stage key once, whatever its event id."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.actions import Approve, Deny, RequireRectification
from shared.contracts.envelope import EventData
from shared.contracts.events import Applicant, MaterialFile, Outcome, PartOutcome, StaffId


class CenterMessage(EventData):
    """What everything one center sends another carries: both ends, by code and division code."""

    from_center: str
    from_division: str = Field(description="区划代码 of the sending center.")
    to_center: str
    to_division: str = Field(description="区划代码 of the receiving center.")
    sent_at: datetime


class ExchangeRecord(CenterMessage):
    """A stage of a case between centers, whatever the stage."""

    stage: ClassVar[str]

    serial: str = Field(description="申办流水号: the id of the case at the center that filed it.")
    stage_id: str = Field(description="Which instance of the stage: the filing center's part (its work order id).")
    matter_code: str = Field(
        description="事项编码 of the matter the record is about, as the receiving center's catalog names it."
    )

    @property
    def case_id(self) -> str:
        """The case the record is about: its serial number, under which the receiving center files it too."""
        return self.serial

    @property
    def stage_key(self) -> str:
        """What a receiver applies once: serial number, stage and stage id."""
        return f"{self.serial}/{self.stage}/{self.stage_id}"


class TransferredPart(BaseModel):
    """The part as the sending center holds it: what the receiving department decides on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str = Field(description="The department code; the receiving center's department of that code decides.")
    part_code: str = Field(description="The sending center's matter (its first review).")
    part_name: str
    time_limit_days: int = Field(ge=0, description="The part's limit at the sending center, working days.")
    materials: dict[str, str]
    material_files: list[MaterialFile] = Field(default_factory=list)


class PartTransferred(ExchangeRecord):
    """转报: the sending center's department reviewed its part first; the receiving (parent) center's department
    of the same code decides it. The receiving center files it as an accepted case (受理 happened at the sender)
    whose limit is what remains after `counted_days`."""

    event_type: ClassVar[str] = "cn.lianban.exchange.part_transferred.v1"
    stage: ClassVar[str] = "transfer"

    matter_name: str = Field(description="The joint matter the part belongs to at the sending center.")
    applicant: Applicant
    part: TransferredPart
    accepted_at: datetime = Field(description="受理 at the sending center: when the part's clock started there.")
    transferred_at: datetime
    staff_id: StaffId = Field(description="Who transferred it at the sending center's department.")
    opinion: str = Field(max_length=2000, description="初审意见.")
    counted_days: int = Field(ge=0, description="Working days the sending center counted from acceptance to transfer.")
    counted_dates: list[date] = Field(
        default_factory=list, description="Which days those were, by the sending center's own calendar (its local overrides)."
    )


Decision = Annotated[Approve | Deny | RequireRectification, Field(discriminator="kind")]


class TransferDecided(ExchangeRecord):
    """办结 of a transferred part: the receiving center's department decided; its decision becomes the sending
    center's part's, whose one reply the sending center builds as usual."""

    event_type: ClassVar[str] = "cn.lianban.exchange.transfer_decided.v1"
    stage: ClassVar[str] = "decided"

    department: str
    department_name: str = Field(description="The deciding department's Chinese name at its center.")
    staff_id: StaffId
    decision: Decision
    decided_at: datetime = Field(description="When the department decided, as it stated (and signed) it.")


class CenterFigures(CenterMessage):
    """汇总: a center's figures for its parent's supervision, sent every few minutes, each a whole snapshot (all
    its cases so far): the parent shows its children side by side without reading their databases, and no
    child ever sees another's. The latest `sent_at` wins."""

    event_type: ClassVar[str] = "cn.lianban.exchange.center_figures.v1"

    received: int = Field(ge=0, description="Cases filed.")
    accepted: int = Field(ge=0)
    completed: int = Field(ge=0, description="Cases concluded.")
    decided_parts: int = Field(ge=0)
    on_time_parts: int = Field(ge=0)
    on_time_rate: float | None = Field(description="On-time decided parts over decided parts; none before the first.")
    overdue_parts: int = Field(ge=0, description="Parts open past their deadline now.")
    yellow_cards: int = Field(ge=0)
    red_cards: int = Field(ge=0)
    urges: int = Field(ge=0)
    complaints: int = Field(ge=0)
    mean_evaluation: float | None = None


class TransferStatus(CenterMessage):
    """How a transferred part stands at the center deciding it, sent back to the center that transferred it
    whenever it changes there (its clock started, suspended, a card, an urge, decided): the sender's
    supervision shows the part "at <center>" with that center's deadline, cards and urgings. The latest
    `sent_at` wins."""

    event_type: ClassVar[str] = "cn.lianban.exchange.transfer_status.v1"

    serial: str = Field(description="The transferring center's case id.")
    stage_id: str = Field(description="The transferring center's part (its work order id).")
    department_name: str = Field(description="The deciding department's Chinese name at its center.")
    state: str = Field(description="running, suspended, overdue, decided (the deciding center's clock).")
    deadline: datetime | None = Field(description="The deciding center's deadline for the part, by its calendar.")
    yellow_cards: int = Field(ge=0)
    red_cards: int = Field(ge=0)
    urges: int = Field(ge=0, description="Urgings the deciding department has had, from either center.")


class TransferUrged(CenterMessage):
    """催办 across centers: the transferring center's lead window or supervisor urges the part it transferred;
    the deciding center's supervision urges its department with a notice to acknowledge (回告)."""

    event_type: ClassVar[str] = "cn.lianban.exchange.transfer_urged.v1"

    serial: str
    stage_id: str = Field(description="The transferring center's part (its work order id).")
    urge_id: str = Field(description="The urge's id at the transferring center: applied once.")
    urged_by: StaffId
    urged_at: datetime


class CaseFiledForApplicant(ExchangeRecord):
    """申办, by a town point (便民服务中心) for the applicant in front of it (全程代办): the whole application, to
    its district, which files it as its own case; the town follows it and hands the one reply over."""

    event_type: ClassVar[str] = "cn.lianban.exchange.case_filed_for_applicant.v1"
    stage: ClassVar[str] = "apply"

    applicant: Applicant
    lead_department: str
    materials: dict[str, dict[str, str]] = Field(description="Per department, the materials (references) as taken at the town.")
    staff_id: StaffId = Field(description="The town point's agent who took the application.")
    filed_at: datetime


class AgentCaseConcluded(ExchangeRecord):
    """办结 of a case a town point filed: its outcome and every part's, back to the town, which builds the one
    reply for the applicant as the district's own window would."""

    event_type: ClassVar[str] = "cn.lianban.exchange.agent_case_concluded.v1"
    stage: ClassVar[str] = "concluded"

    outcome: Outcome
    parts: list[PartOutcome]
    reasons: list[str] = Field(default_factory=list, description="Why the district could not file it at all, if so.")
    concluded_at: datetime
