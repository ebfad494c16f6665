"""Every event type by its CloudEvents `type`: how a message's payload is read back."""

from __future__ import annotations

from shared.contracts.envelope import EventData
from shared.contracts.events import (
    ActionRefused,
    AlertAcknowledged,
    BridgeReport,
    CaseAccepted,
    CaseConcluded,
    CaseEvaluated,
    CaseNotAccepted,
    CaseSubmitted,
    CaseSupplemented,
    DeadLetter,
    DeemedApprovalIssued,
    DeliveryAlert,
    DepartmentActed,
    DocumentsDelivered,
    HandlingStarted,
    PartActionRecorded,
    SupervisionAlert,
    SupplementRequested,
    UnifiedReply,
    WorkClosed,
    WorkOrder,
    WorkReceived,
)
from shared.contracts.exchange import (
    AgentCaseConcluded,
    CaseFiledForApplicant,
    CenterFigures,
    PartTransferred,
    TransferDecided,
    TransferStatus,
    TransferUrged,
)

EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (
        CaseSubmitted,
        WorkOrder,
        HandlingStarted,
        WorkClosed,
        DepartmentActed,
        DeemedApprovalIssued,
        PartActionRecorded,
        ActionRefused,
        CaseAccepted,
        SupplementRequested,
        CaseSupplemented,
        CaseNotAccepted,
        CaseConcluded,
        DocumentsDelivered,
        CaseEvaluated,
        UnifiedReply,
        SupervisionAlert,
        AlertAcknowledged,
        WorkReceived,
        BridgeReport,
        DeliveryAlert,
        DeadLetter,
        PartTransferred,
        TransferDecided,
        CenterFigures,
        TransferStatus,
        TransferUrged,
        CaseFiledForApplicant,
        AgentCaseConcluded,
    )
}
