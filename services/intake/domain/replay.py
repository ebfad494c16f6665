"""A case rebuilt from the events intake published about it (pure), to show that the events are the whole
record: replayed through the same rules, they give the state intake stored. What the case's events do not
carry, and so what a replay cannot give, is the query code itself (only its digest travels)."""

from __future__ import annotations

from collections.abc import Iterable

from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Part, Refused
from shared.contracts import (
    CaseEvaluated,
    CaseSubmitted,
    CaseSupplemented,
    DocumentsDelivered,
    EventData,
    PartActionRecorded,
    WorkOrder,
)


class ReplayError(ValueError):
    """The events do not make a case: none opens it, or a step the rules refuse."""


def replay(events: Iterable[EventData]) -> JointCase:
    """The case as its events leave it, in the order they were published. Its opening (CaseSubmitted and
    the first work orders, which carry the materials) and every step someone took (a department's
    recorded action, a supplement, the delivery, the evaluation) are applied; what the rules derive
    from them (acceptance, notices, conclusion) follows by itself."""
    case: JointCase | None = None
    for event in events:
        try:
            case = step(case, event)
        except Refused as refused:
            raise ReplayError(f"{type(event).__name__} refused on replay: {refused.reason}") from refused
    if case is None:
        raise ReplayError("no CaseSubmitted: nothing opens the case")
    return case


def step(case: JointCase | None, event: EventData) -> JointCase:
    if isinstance(event, CaseSubmitted):
        return opened(event)
    if case is None:
        raise ReplayError(f"{type(event).__name__} before the case was submitted")
    if isinstance(event, WorkOrder) and event.round == 1:
        part = case.part_of(event.department)
        part.materials, part.files = dict(event.materials), list(event.material_files)
    elif isinstance(event, PartActionRecorded):
        held = {c.sha256 for c in getattr(event.action, "certificates", [])}  # checked when it was recorded
        case.act(event.department, event.staff_id, event.action, event.received_at or event.acted_at, event.acted_at, held)
    elif isinstance(event, CaseSupplemented):
        known = {f.sha256: (f.size, f.media_type) for f in event.material_files}
        case.supplement(event.materials, event.staff_id, event.supplemented_at, known)
    elif isinstance(event, DocumentsDelivered):
        case.deliver(event.method, event.staff_id, event.delivered_at)
    elif isinstance(event, CaseEvaluated):
        case.evaluate(event.score, event.reason, event.evaluated_at)
    return case


def opened(event: CaseSubmitted) -> JointCase:
    return JointCase(
        case_id=event.case_id,
        center=event.center,
        matter_code=event.matter_code,
        matter_name=event.matter_name,
        lead_department=event.lead_department,
        applicant=event.applicant,
        staff_id=event.staff_id,
        pre_review_days=event.pre_review_days,
        overall_days=event.overall_days,
        green_channel=event.green_channel,
        previous_case_id=event.previous_case_id,
        submitted_at=event.submitted_at,
        parts=[
            Part(
                work_order_id=p.work_order_id,
                department=p.department,
                department_name=p.department_name,
                part_code=p.part_code,
                part_name=p.part_name,
                time_limit_days=p.time_limit_days,
                silence_means_yes=p.silence_means_yes,
                materials={},
            )
            for p in event.parts
        ],
    )
