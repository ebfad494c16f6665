"""Following every event: the case timeline, each part's clock, violations, acknowledgements."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import Alert, CaseFile, PartClock, TimelineEntry, ViolationRecord
from services.supervision.domain.stated_time import TimeTrust, stated_time
from services.supervision.domain.violations import TEXT, Violation, from_refusal
from services.supervision.service_layer.clocks import Clocks
from services.supervision.service_layer.deliveries import Sent, receipts
from shared.contracts import (
    DECISIONS,
    ActionRefused,
    AlertAcknowledged,
    CaseAccepted,
    CaseConcluded,
    CaseEvaluated,
    CaseNotAccepted,
    CaseSubmitted,
    CaseSupplemented,
    DecideExtension,
    EventData,
    PartActionRecorded,
    RequestExtension,
)
from shared.messaging.consumer import Delivery
from shared.routing import department_of
from shared.workdays import UnknownYearError

SUPERVISION = "supervision"  # the staff id supervision acts under (deemed approvals)
# what every batch of events reads, built once (see shared/messaging/processed.py)
_CASES = select(CaseFile).where(CaseFile.case_id.in_(bindparam("ids", expanding=True)))
_PARTS = select(PartClock).where(PartClock.case_id.in_(bindparam("ids", expanding=True)))
_ALERTS = select(Alert).where(Alert.alert_id.in_(bindparam("ids", expanding=True)), Alert.department == bindparam("sender"))
_TIMELINE = insert(TimelineEntry)


@dataclass
class Batch:
    """What one batch of case events works on: its cases and parts, loaded together, saved together."""

    session: AsyncSession
    cases: dict[str, CaseFile]
    parts: dict[str, PartClock]
    open_cases: dict[tuple[str, str], set[str]]  # accepted, not concluded: by applicant and matter
    sent: Sent  # work sent to departments, until taken (送达异常)


class Watcher:
    def __init__(self, clocks: Clocks, trust: TimeTrust | None = None) -> None:
        self.clocks, self.trust = clocks, trust or TimeTrust()
        self.handlers: dict[type[EventData], Callable[[Batch, Delivery, Any], None]] = {
            CaseSubmitted: self._submitted,
            CaseAccepted: self._case_accepted,
            CaseSupplemented: self._supplemented,
            CaseNotAccepted: self._not_accepted,
            PartActionRecorded: self._part_acted,
            ActionRefused: self._refused,
            CaseConcluded: self._concluded,
            CaseEvaluated: self._evaluated,
        }

    async def follow(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        """The case events: timeline, clocks, violations."""
        case_ids = list({d.event.subject for d in deliveries})
        cases = {c.case_id: c for c in await session.scalars(_CASES, {"ids": case_ids})}
        parts = {p.work_order_id: p for p in await session.scalars(_PARTS, {"ids": case_ids})}
        await record(session, deliveries)
        batch = Batch(session, cases, parts, await _open_cases(session, deliveries, cases), await Sent.load(session, case_ids))
        for d in deliveries:
            if handler := self.handlers.get(type(d.data)):
                handler(batch, d, d.data)

    async def acknowledge(self, session: AsyncSession, deliveries: list[Delivery], sender: str) -> None:
        """The `sender` department's acknowledgements, from its own topic: 回告 closes its own notices (the
        first one counts), 签收 marks its own work taken; one naming another department's closes nothing."""
        await record(session, deliveries)
        acks = {
            d.data.alert_id: d.data for d in deliveries if isinstance(d.data, AlertAcknowledged) and d.data.department == sender
        }
        for alert in await session.scalars(_ALERTS, {"ids": list(acks), "sender": sender}):
            if alert.acknowledged_at is None:
                alert.acknowledged_at, alert.acknowledged_by = acks[alert.alert_id].acknowledged_at, acks[alert.alert_id].staff_id
        await receipts(session, deliveries, sender)  # 签收 of work, on the same topic

    def _submitted(self, batch: Batch, _d: Delivery, event: CaseSubmitted) -> None:
        _open(batch.session, event, batch.cases, batch.parts)
        for p in event.parts:
            batch.sent.issue(event.case_id, p.department, p.work_order_id, "review1", event.submitted_at)

    def _supplemented(self, batch: Batch, _d: Delivery, event: CaseSupplemented) -> None:
        """The departments that asked for the supplement get the next round of pre-review."""
        for part in batch.parts.values():
            if part.case_id == event.case_id and part.department in event.materials:
                batch.sent.issue(
                    event.case_id, part.department, part.work_order_id, f"review{event.round}", event.supplemented_at
                )

    def _not_accepted(self, batch: Batch, _d: Delivery, event: CaseNotAccepted) -> None:
        batch.sent.close(event.case_id)

    def _case_accepted(self, batch: Batch, d: Delivery, event: CaseAccepted) -> None:
        case = batch.cases.get(event.case_id)
        if case is None:
            return
        self._accepted(event, case, batch.parts)
        for p in event.parts:
            batch.sent.issue(event.case_id, p.department, p.work_order_id, "handle", event.accepted_at)
        twins = batch.open_cases.setdefault((case.applicant_id, case.matter_code), set())
        if others := twins - {case.case_id}:
            _violation(
                batch.session,
                Violation.DOUBLE_ACCEPTANCE,
                case.case_id,
                case.lead_department,
                d.event.id,
                f"{TEXT[Violation.DOUBLE_ACCEPTANCE]}：与办件 {min(others)} 并行受理",
                event.accepted_at,
            )
        twins.add(case.case_id)

    def _part_acted(self, batch: Batch, d: Delivery, event: PartActionRecorded) -> None:
        part = batch.parts.get(event.work_order_id)
        if part is None:
            return
        at = event.acted_at  # supervision's own acts (deemed approvals) keep supervision's time
        if event.staff_id != SUPERVISION:
            stated = stated_time(event, self.trust)
            at = stated.counted
            if stated.doubt:
                kind, detail = Violation.DOUBTFUL_TIME, f"{TEXT[Violation.DOUBTFUL_TIME]}：{stated.doubt}"
                _violation(batch.session, kind, event.case_id, event.department, d.event.id, detail, stated.received)
        self._acted(part, event, at)
        if event.staff_id != SUPERVISION:
            batch.sent.acted(event.work_order_id, event.received_at or event.acted_at)
        owner = batch.cases.get(event.case_id)
        if owner is not None and owner.deadline is not None and part.deadline is not None:
            owner.deadline = max(owner.deadline, part.deadline)  # the case waits for its latest part

    def _refused(self, batch: Batch, d: Delivery, event: ActionRefused) -> None:
        if event.staff_id == SUPERVISION and event.work_order_id in batch.parts:
            self._own_action_refused(batch.parts[event.work_order_id], event)
        elif (kind := from_refusal(event)) is not None:
            _violation(batch.session, kind, event.case_id, event.department, d.event.id, event.reason, event.refused_at)

    def _concluded(self, batch: Batch, _d: Delivery, event: CaseConcluded) -> None:
        batch.sent.close(event.case_id)
        if (case := batch.cases.get(event.case_id)) is not None:
            case.concluded_at, case.outcome = event.concluded_at, event.outcome
            batch.open_cases.get((case.applicant_id, case.matter_code), set()).discard(case.case_id)

    def _evaluated(self, batch: Batch, _d: Delivery, event: CaseEvaluated) -> None:
        if (case := batch.cases.get(event.case_id)) is not None:
            case.evaluation = event.score

    def _accepted(self, event: CaseAccepted, case: CaseFile, parts: dict[str, PartClock]) -> None:
        case.accepted_at = event.accepted_at
        with contextlib.suppress(UnknownYearError):  # the parts say so, visibly, and wait for the calendar
            case.deadline = self.clocks.calendar.deadline(event.accepted_at, case.overall_days)
        for summary_ in event.parts:
            if summary_.work_order_id in parts:
                self.clocks.start(parts[summary_.work_order_id], event.accepted_at)

    def _own_action_refused(self, part: PartClock, refused: ActionRefused) -> None:
        """The case refused supervision's deemed approval (say, the part was suspended a moment
        before): the ladder goes on, and looks again a working day later."""
        if refused.action_kind == "deemed_approve" and part.decided_at is None:
            part.deemed = False
            part.next_check_at = self.clocks.calendar.shift(refused.refused_at, self.clocks.policy.urge_every_days)

    def _acted(self, part: PartClock, event: PartActionRecorded, at: datetime) -> None:
        """The part's clock after a department's action, counted from `at`, the time the department stated."""
        kind = event.action.kind
        if event.staff_id != SUPERVISION and (kind in DECISIONS or kind == "suspend"):
            part.last_answer_at, part.urges = at, []  # the department answered the urging
        if kind == "suspend":
            self.clocks.suspend(part, at)
        elif kind == "resume":
            self.clocks.resume(part, at)
        elif isinstance(event.action, RequestExtension):
            part.pending_extension_days = event.action.days
        elif isinstance(event.action, DecideExtension):
            if event.action.approved and part.pending_extension_days:
                self.clocks.extend(part, part.pending_extension_days)
            part.pending_extension_days = 0
        elif kind in DECISIONS and part.decided_at is None:
            part.decided_at, part.decision_received_at, part.next_check_at = at, event.received_at or at, None
            part.deemed = kind == "deemed_approve"


async def _open_cases(
    session: AsyncSession, deliveries: list[Delivery], cases: dict[str, CaseFile]
) -> dict[tuple[str, str], set[str]]:
    """Accepted and not concluded cases of the applicants this batch accepts, by applicant and matter
    (one query a batch), to see 两头受理: a case accepted while its twin is still open."""
    applicants = {d.data.applicant.id_number for d in deliveries if isinstance(d.data, CaseSubmitted)}
    applicants |= {
        cases[d.data.case_id].applicant_id for d in deliveries if isinstance(d.data, CaseAccepted) and d.data.case_id in cases
    }
    found: dict[tuple[str, str], set[str]] = {}
    if applicants:
        rows = await session.execute(
            select(CaseFile.case_id, CaseFile.applicant_id, CaseFile.matter_code).where(
                CaseFile.applicant_id.in_(applicants), CaseFile.accepted_at.is_not(None), CaseFile.concluded_at.is_(None)
            )
        )
        for case_id, applicant_id, matter_code in rows:
            found.setdefault((applicant_id, matter_code), set()).add(case_id)
    return found


async def record(session: AsyncSession, deliveries: list[Delivery]) -> None:
    """The batch's events on their cases' timelines, in one statement."""
    if not deliveries:
        return
    await session.execute(
        _TIMELINE,
        [
            {
                "case_id": d.event.subject,
                "event_id": d.event.id,
                "event_type": d.event.type,
                "occurred_at": d.event.time,
                "department": department_of(d.data),
                "summary": summary(d.data),
            }
            for d in deliveries
        ],
    )


def _open(session: AsyncSession, event: CaseSubmitted, cases: dict[str, CaseFile], parts: dict[str, PartClock]) -> None:
    if event.case_id in cases:
        return
    cases[event.case_id] = CaseFile(
        case_id=event.case_id,
        matter_code=event.matter_code,
        lead_department=event.lead_department,
        applicant_id=event.applicant.id_number,
        overall_days=event.overall_days,
        submitted_at=event.submitted_at,
        transferred_from=event.transferred_from.center if event.transferred_from else None,
        origin_work_order=event.transferred_from.work_order_id if event.transferred_from else None,
    )
    session.add(cases[event.case_id])
    for p in event.parts:
        parts[p.work_order_id] = PartClock(
            work_order_id=p.work_order_id,
            case_id=event.case_id,
            department=p.department,
            part_code=p.part_code,
            matter_code=event.matter_code,
            time_limit_days=p.time_limit_days,
            silence_means_yes=p.silence_means_yes,
            suspensions=[],
            suspended_days=0,
            extension_days=0,
            pending_extension_days=0,
            urges=[],
            urge_count=0,
            reminded=False,
            yellow=False,
            red=False,
            shirking=False,
            deemed=False,
        )
        session.add(parts[p.work_order_id])


def _violation(
    session: AsyncSession, kind: Violation, case_id: str, department: str | None, event_id: str, detail: str, at: datetime
) -> None:
    session.add(
        ViolationRecord(
            kind=kind.value, case_id=case_id, department=department, event_id=event_id, detail=detail[:1000], detected_at=at
        )
    )


def summary(data: EventData) -> dict[str, Any]:
    """What the timeline shows of an event: who acted and what they decided, without the bulk."""
    if isinstance(data, CaseSubmitted):
        return {"matter_code": data.matter_code, "parts": [p.department for p in data.parts], "staff_id": data.staff_id}
    if isinstance(data, PartActionRecorded):
        shown = data.model_dump(mode="json", exclude={"case_id", "work_order_id", "department", "signed_event"})
        return shown | ({"signed_event": data.signed_event} if data.signed_event else {})
    dumped = data.model_dump(mode="json", exclude={"applicant", "materials", "parts", "notice", "message"})
    return {k: v for k, v in dumped.items() if k != "case_id"}
