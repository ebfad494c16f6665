"""Message contracts between services: CloudEvents 1.0 envelopes with Pydantic payloads."""

from shared.contracts.envelope import CloudEvent, MalformedEvent
from shared.contracts.events import (
    EVENT_TYPES,
    Applicant,
    CaseSubmitted,
    DeadLetter,
    DepartmentResult,
    Outcome,
    OverdueAlert,
    PartOutcome,
    PartSummary,
    UnifiedReply,
    WorkOrder,
)

__all__ = [
    "EVENT_TYPES",
    "Applicant",
    "CaseSubmitted",
    "CloudEvent",
    "DeadLetter",
    "DepartmentResult",
    "MalformedEvent",
    "Outcome",
    "OverdueAlert",
    "PartOutcome",
    "PartSummary",
    "UnifiedReply",
    "WorkOrder",
]
