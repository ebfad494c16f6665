"""HTTP for supervisors, departments and the lead window: timelines, deadlines, alerts and their
acknowledgements, urging, violations, statistics, and the demo clock.

Supervisors, administrators and window staff of the center read supervision; department staff read
and acknowledge only their own department's alerts and overdue parts; the lead window and supervisors
urge; only an administrator moves the manual clock. Applicants' ID numbers and phones are masked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, Field, computed_field, field_validator
from sqlalchemy import select

from services.supervision.adapters.orm import Alert, AwayPart, CaseFile, PartClock, TimelineEntry, ViolationRecord
from services.supervision.domain.chain import GENESIS
from services.supervision.domain.console_text import event_text
from services.supervision.domain.deadlines import STATE_TEXT, ClockState, clock_state
from services.supervision.domain.signatures import key_ids
from services.supervision.domain.statistics import Figures
from services.supervision.domain.violations import TEXT, Violation
from services.supervision.service_layer.alerts import AlertDesk, Issued
from services.supervision.service_layer.away import urge_across
from services.supervision.service_layer.seal import sealed_record
from services.supervision.service_layer.statistics import ranking, statistics
from shared.centers import Centers
from shared.clock import Clock, ManualClock
from shared.contracts import AlertKind
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role, not_found
from shared.personal_data import masked
from shared.signing import KeyRegistry, b64
from shared.workdays import WorkingCalendar

Limit = Annotated[int, Query(ge=1, le=5000, description="How many rows at most.")]


class AwayView(BaseModel):
    """A transferred part as the deciding center last reported it (its deadline by its own calendar)."""

    center: str
    center_name: str
    department_name: str
    state: str
    deadline: datetime | None
    yellow_cards: int
    red_cards: int
    urges: int
    as_of: datetime


class PartDeadline(BaseModel):
    work_order_id: str
    case_id: str
    department: str
    part_code: str
    time_limit_days: int
    started_at: datetime | None
    deadline: datetime | None
    suspended_days: int
    extension_days: int
    decided_at: datetime | None = Field(description="The decision's signed time, as the department stated it (counted).")
    decision_received_at: datetime | None = Field(description="When Lianban received the decision.")
    decision_transit_seconds: float | None = Field(description="From the signed time to the receipt (a ferry: days).")
    urge_count: int
    state: ClockState
    state_text: str
    away: AwayView | None = Field(default=None, description="A part transferred up (转报): how it stands at that center.")


class TimelineItem(BaseModel):
    event_id: str
    event_type: str
    occurred_at: datetime
    department: str | None
    summary: dict[str, Any]

    @field_validator("summary")
    @classmethod
    def _masked(cls, summary: dict[str, Any]) -> dict[str, Any]:
        return masked(summary)  # type: ignore[no-any-return]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def event_text(self) -> str:
        """The entry's name as staff read it (中文)."""
        return event_text(self.event_type, self.summary)


class CaseSupervision(BaseModel):
    case_id: str
    accepted_at: datetime | None = None
    deadline: datetime | None = Field(default=None, description="The case's overall deadline (办结时限).")
    concluded_at: datetime | None = None
    timeline: list[TimelineItem]
    parts: list[PartDeadline]


class AlertView(BaseModel):
    alert_id: str
    case_id: str
    work_order_id: str
    department: str
    kind: str
    sequence: int
    issued_by: str
    issued_at: datetime
    message: str
    evidence: dict[str, Any]
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class EvidenceEntry(BaseModel):
    """One sealed timeline entry with everything its hashes cover (docs/evidence.md)."""

    case_id: str
    sequence: int
    event_id: str
    event_type: str
    occurred_at: str = Field(description="UTC, microseconds, `Z`: exactly as hashed.")
    department: str | None
    summary: dict[str, Any]
    previous_hash: str
    entry_hash: str
    ledger_position: int
    ledger_previous: str = Field(description="The ledger hash at the position before (64 zeros at the first).")
    ledger_hash: str


class RegisteredKey(BaseModel):
    """A department's public key as the center registered it: what a signed entry's `lbsigkey` names."""

    key_id: str
    department: str
    algorithm: str
    public_key: str = Field(description="The raw public key, base64url without padding (Ed25519: 32 bytes).")


class Evidence(BaseModel):
    """A case's record as a third party verifies it offline: each entry's SHA-256 over its canonical JSON
    and the one before it, each entry's link in the center's ledger, and each department's signature
    over the action an entry records, with the keys they were made with."""

    case_id: str
    algorithm: str = "sha256"
    procedure: str = "docs/evidence.md"
    keys: list[RegisteredKey] = Field(
        description="The registered keys the case's signed actions name; compare them with the center's published registry."
    )
    entries: list[EvidenceEntry]
    unsealed: int = Field(description="Entries of the case written but not sealed yet (sealed within seconds).")
    ledger_head_position: int
    ledger_head_hash: str
    exported_at: datetime


class ViolationView(BaseModel):
    kind: str
    kind_text: str
    case_id: str
    department: str | None
    detail: str
    detected_at: datetime


class CalendarStatus(BaseModel):
    overrides: str = Field(description="The override file that must list a year chinesecalendar does not know.")
    parts_waiting: list[str] = Field(description="Parts with no deadline because their dates fall in such a year.")
    error: str | None


class ClockSetting(BaseModel):
    now: datetime


class RankedDepartment(BaseModel):
    rank: int
    department: str
    figures: Figures


def router(
    sessions: SessionFactory,
    clock: Clock,
    desk: AlertDesk,
    after_commit: Callable[[], None],
    calendar: WorkingCalendar,
    access: Access,
    registry: KeyRegistry | None = None,
    centers: tuple[str, Centers] | None = None,
) -> APIRouter:
    """`registry`: the center's key registry, whose keys the evidence export gives beside the signatures;
    `centers`: this center's code among the centers, where it exchanges cases (an urge crosses to a part's
    deciding center)."""
    api = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
    reader = Depends(access.allow(Role.SUPERVISOR, Role.ADMIN, Role.WINDOW, Role.OPERATOR))
    reader_or_department = Depends(access.allow(Role.SUPERVISOR, Role.ADMIN, Role.WINDOW, Role.OPERATOR, Role.DEPARTMENT))
    urger = Depends(access.allow(Role.WINDOW, Role.SUPERVISOR))
    department_staff = Depends(access.allow(Role.DEPARTMENT))
    administrator = Depends(access.allow(Role.ADMIN))
    auditor = Depends(access.allow(Role.SUPERVISOR, Role.ADMIN))

    def scope(caller: Principal, department: str | None) -> str | None:
        """The department filter a caller may use: department staff see their own department only."""
        if caller.role is not Role.DEPARTMENT:
            return department
        if department not in (None, caller.department):
            raise not_found(f"部门 {department} 的督办信息 (another department's alerts)")
        return caller.department

    def away_view(away: AwayPart | None) -> AwayView | None:
        if away is None:
            return None
        name = centers[1].name(away.center) if centers else away.center
        fields = {k: getattr(away, k) for k in AwayView.model_fields if hasattr(away, k)}
        return AwayView(**fields, center_name=name, as_of=away.sent_at)

    def deadline_view(part: PartClock, now: datetime, away: AwayPart | None = None) -> PartDeadline:
        state = clock_state(
            part.started_at, part.deadline, part.suspended_since is not None, part.decided_at, now, part.calendar_error
        )
        received, decided = part.decision_received_at, part.decided_at
        transit = (received - decided).total_seconds() if received and decided else None
        return PartDeadline(
            **{k: getattr(part, k) for k in PartDeadline.model_fields if hasattr(part, k)},
            decision_transit_seconds=transit,
            state=state,
            state_text=STATE_TEXT[state],
            away=away_view(away),
        )

    @api.get("/cases/{case_id}", response_model=CaseSupervision)
    async def case_supervision(case_id: str, _caller: Principal = reader) -> CaseSupervision:
        """Every event of the case in order (refused actions and alerts included), and each part's deadline."""
        async with sessions() as session:
            timeline = list(
                await session.scalars(
                    select(TimelineEntry)
                    .where(TimelineEntry.case_id == case_id)
                    .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
                )
            )
            parts = list(
                await session.scalars(select(PartClock).where(PartClock.case_id == case_id).order_by(PartClock.work_order_id))
            )
            case = await session.get(CaseFile, case_id)
            away = {a.work_order_id: a for a in await session.scalars(select(AwayPart).where(AwayPart.case_id == case_id))}
        if not timeline and not parts:
            raise HTTPException(404, f"监察系统中未找到该办件 case {case_id} is not known to supervision")
        now = clock.now()
        return CaseSupervision(
            case_id=case_id,
            accepted_at=case.accepted_at if case else None,
            deadline=case.deadline if case else None,
            concluded_at=case.concluded_at if case else None,
            timeline=[TimelineItem.model_validate(t, from_attributes=True) for t in timeline],  # masked by the model
            parts=[deadline_view(p, now, away.get(p.work_order_id)) for p in parts],
        )

    @api.get("/cases/{case_id}/evidence", response_model=Evidence)
    async def evidence(case_id: str, _caller: Principal = auditor) -> Evidence:
        """The case's sealed record, hashes and ledger links, to verify offline (docs/evidence.md)."""
        async with sessions() as session:
            record = await sealed_record(session, case_id)
        if not record.links and not record.unsealed:
            raise HTTPException(404, f"监察系统中未找到该办件 case {case_id} is not known to supervision")
        used = key_ids([link.fields for link in record.links])
        return Evidence(
            case_id=case_id,
            keys=[
                RegisteredKey(key_id=k.key_id, department=k.department, algorithm=k.algorithm, public_key=b64(k.key))
                for key_id in sorted(used)
                if registry and (k := registry.keys.get(key_id))
            ],
            entries=[
                EvidenceEntry(
                    **link.fields,
                    entry_hash=link.entry_hash,
                    ledger_position=link.ledger_position,
                    ledger_previous=record.ledger_previous.get(link.ledger_position - 1, GENESIS),
                    ledger_hash=link.ledger_hash,
                )
                for link in record.links
            ],
            unsealed=record.unsealed,
            ledger_head_position=record.head[0],
            ledger_head_hash=record.head[1],
            exported_at=clock.now(),
        )

    @api.get("/overdue", response_model=list[PartDeadline])
    async def overdue(
        department: str | None = None, limit: Limit = 500, caller: Principal = reader_or_department
    ) -> list[PartDeadline]:
        """Parts past their deadline with no decision yet, most overdue first."""
        department = scope(caller, department)
        now = clock.now()
        query = select(PartClock).where(PartClock.decided_at.is_(None), PartClock.deadline < now)
        if department:
            query = query.where(PartClock.department == department)
        async with sessions() as session:
            parts = await session.scalars(query.order_by(PartClock.deadline).limit(limit))
            return [deadline_view(p, now) for p in parts]

    @api.get("/alerts", response_model=list[AlertView])
    async def alerts(
        department: str | None = None,
        case_id: str | None = None,
        kind: AlertKind | None = None,
        unacknowledged: bool = False,
        limit: Limit = 500,
        caller: Principal = reader_or_department,
    ) -> list[AlertView]:
        """Cards, urges, shirking records and deemed approvals, newest first."""
        department = scope(caller, department)
        query = select(Alert)
        for column, value in ((Alert.department, department), (Alert.case_id, case_id), (Alert.kind, kind)):
            if value:
                query = query.where(column == value)
        if unacknowledged:
            query = query.where(Alert.acknowledged_at.is_(None))
        async with sessions() as session:
            rows = await session.scalars(query.order_by(Alert.issued_at.desc()).limit(limit))
            return [AlertView.model_validate(a, from_attributes=True) for a in rows]

    @api.post("/alerts/{alert_id}/acknowledgement", response_model=AlertView)
    async def acknowledge(alert_id: str, staff: Principal = department_staff) -> AlertView:
        """回告: the department confirms it received one of its own notices."""
        async with sessions() as session, session.begin():
            alert = await session.get(Alert, alert_id)
            if alert is None or alert.department != staff.department:
                raise not_found(f"督办通知 {alert_id} (alert)")
            if alert.acknowledged_at is None:
                alert.acknowledged_at, alert.acknowledged_by = clock.now(), staff.subject
            return AlertView.model_validate(alert, from_attributes=True)

    @api.post("/parts/{work_order_id}/urge", response_model=AlertView)
    async def urge(work_order_id: str, staff: Principal = urger) -> AlertView:
        """The lead window urges a department (催办); three unanswered urges make a shirking record."""
        now = clock.now()
        async with sessions() as session, session.begin():
            part = await session.get(PartClock, work_order_id)
            if part is None:
                raise HTTPException(404, f"未找到该事项 no part {work_order_id}")
            if part.decided_at is not None:
                raise HTTPException(409, "该部门已作出决定，无需催办 (the part is already decided)")
            part.urge_count += 1
            part.urges = [*part.urges, now.isoformat()]
            part.next_check_at = now  # the scanner looks at it at once (shirking after three)
            issued = Issued()
            alert = desk.issue(issued, part, AlertKind.URGE, now, sequence=part.urge_count, issued_by=staff.subject)
            await issued.write(session)
            if centers and (away := await session.get(AwayPart, work_order_id)) is not None:  # decided up there: urged there
                urge_across(session, away, centers[0], centers[1], desk.outbox, staff.subject, now)
        after_commit()
        return AlertView(
            alert_id=alert.alert_id,
            case_id=alert.case_id,
            work_order_id=work_order_id,
            department=alert.department,
            kind=alert.kind,
            sequence=alert.sequence,
            issued_by=alert.issued_by,
            issued_at=now,
            message=alert.message,
            evidence={},
            acknowledged_at=None,
            acknowledged_by=None,
        )

    @api.get("/violations", response_model=list[ViolationView])
    async def violations(
        kind: Violation | None = None, case_id: str | None = None, limit: Limit = 500, _caller: Principal = reader
    ) -> list[ViolationView]:
        """Violations seen in the event stream: decision without acceptance, steps out of order,
        double acceptance (两头受理), denial or refusal without legal basis, action without a work order."""
        query = select(ViolationRecord)
        if kind:
            query = query.where(ViolationRecord.kind == kind.value)
        if case_id:
            query = query.where(ViolationRecord.case_id == case_id)
        async with sessions() as session:
            rows = await session.scalars(query.order_by(ViolationRecord.detected_at).limit(limit))
            return [
                ViolationView(
                    kind=v.kind,
                    kind_text=TEXT[Violation(v.kind)],
                    case_id=v.case_id,
                    department=v.department,
                    detail=v.detail,
                    detected_at=v.detected_at,
                )
                for v in rows
            ]

    @api.get("/statistics", response_model=Figures)
    async def read_statistics(
        department: str | None = None,
        matter: str | None = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
        _caller: Principal = reader,
    ) -> Figures:
        """Received, accepted, completed, on-time rate, overdue parts, mean working days used, cards by
        colour, urges, shirking records, deemed approvals, mean evaluation; for cases submitted in the period."""
        async with sessions() as session:
            return await statistics(
                session, calendar, clock.now(), department=department, matter=matter, since=since, until=until
            )

    @api.get("/ranking", response_model=list[RankedDepartment])
    async def read_ranking(
        matter: str | None = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
        _caller: Principal = reader,
    ) -> list[RankedDepartment]:
        """Departments ranked: on-time rate, then fewest overdue parts, then fewest working days used."""
        async with sessions() as session:
            rows = await ranking(session, calendar, clock.now(), matter=matter, since=since, until=until)
        return [RankedDepartment(rank=i, department=d, figures=f) for i, (d, f) in enumerate(rows, 1)]

    @api.get("/calendar", response_model=CalendarStatus)
    async def calendar_status(_caller: Principal = reader) -> CalendarStatus:
        """Whether the working-day calendar covers every running clock; parts it cannot schedule wait here."""
        async with sessions() as session:
            waiting = list(
                await session.scalars(
                    select(PartClock).where(PartClock.calendar_error.is_not(None), PartClock.decided_at.is_(None)).limit(100)
                )
            )
        return CalendarStatus(
            overrides=str(calendar.overrides_path),
            parts_waiting=[p.work_order_id for p in waiting],
            error=waiting[0].calendar_error if waiting else None,
        )

    @api.get("/clock", response_model=ClockSetting)
    async def read_clock(_caller: Principal = reader) -> ClockSetting:
        """The time supervision is counting with."""
        return ClockSetting(now=clock.now())

    @api.post("/clock", response_model=ClockSetting)
    async def set_clock(setting: ClockSetting, _admin: Principal = administrator) -> ClockSetting:
        """Move the manual clock: administrators only, and only when the service runs with clock=manual
        (tests and demos)."""
        if not isinstance(clock, ManualClock):
            raise HTTPException(409, "时钟由系统时间驱动 this supervision runs on the system clock")
        try:
            clock.set(setting.now)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return ClockSetting(now=clock.now())

    return api
