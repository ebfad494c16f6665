"""Which channel each event leaves on: the one routing table. The outbox publishes by it, and the
AsyncAPI document is generated from it, so no service chooses a topic by hand."""

from __future__ import annotations

from shared.contracts import (
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
    EventData,
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
from shared.topics import (
    ACKNOWLEDGEMENTS,
    ALERTS,
    BRIDGES,
    CASE_EVENTS,
    DEAD_LETTERS,
    DEEMED_APPROVALS,
    DEPARTMENT_ACTIONS,
    EXCHANGE,
    FEEDBACK,
    REPLIES,
    WORK,
    Channel,
    Topics,
)

ROUTES: dict[type[EventData], tuple[Channel, ...]] = {
    CaseSubmitted: (CASE_EVENTS,),
    PartActionRecorded: (CASE_EVENTS,),
    ActionRefused: (CASE_EVENTS, FEEDBACK),  # and the department whose action it was is told
    SupplementRequested: (CASE_EVENTS,),
    CaseSupplemented: (CASE_EVENTS,),
    CaseAccepted: (CASE_EVENTS,),
    CaseNotAccepted: (CASE_EVENTS,),
    CaseConcluded: (CASE_EVENTS,),
    DocumentsDelivered: (CASE_EVENTS,),
    CaseEvaluated: (CASE_EVENTS,),
    WorkOrder: (WORK,),
    HandlingStarted: (WORK,),
    WorkClosed: (WORK,),
    SupervisionAlert: (ALERTS, WORK),  # and, as a notice to acknowledge, on the department's own topic
    DepartmentActed: (DEPARTMENT_ACTIONS,),
    DeemedApprovalIssued: (DEEMED_APPROVALS,),
    UnifiedReply: (REPLIES,),
    AlertAcknowledged: (ACKNOWLEDGEMENTS,),
    WorkReceived: (ACKNOWLEDGEMENTS,),
    BridgeReport: (BRIDGES,),
    DeliveryAlert: (ALERTS,),
    DeadLetter: (DEAD_LETTERS, FEEDBACK),  # and the department whose message it was, if a department's
    PartTransferred: (EXCHANGE,),  # to the center it names (`to_center`)
    TransferDecided: (EXCHANGE,),
    CenterFigures: (EXCHANGE,),  # to the parent's supervision
    TransferStatus: (EXCHANGE,),  # to the transferring center's supervision
    TransferUrged: (EXCHANGE,),  # to the deciding center's supervision
    CaseFiledForApplicant: (EXCHANGE,),  # a town point's filing, to its district
    AgentCaseConcluded: (EXCHANGE,),  # back to the town point
}


EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in ROUTES}  # how a payload is read back


def department_of(data: EventData) -> str | None:
    """The department an event names, if it has the field (read from the model's values: a `getattr` that
    misses on a pydantic model costs a formatted AttributeError, on every event)."""
    department: str | None = data.__dict__.get("department")
    return department


def destinations(topics: Topics, data: EventData) -> list[str]:
    """The topics this event is published to; a department's topic is the one of the department the event
    names, and none when it names no department (a lead window's refused step has no feedback topic); an
    exchange record's, the one to the center it is for."""
    department = department_of(data)
    return [
        topics.of(channel, data.__dict__.get("to_center") if channel.per_peer else department)
        for channel in ROUTES[type(data)]
        if department is not None or not channel.per_department
    ]


def messages(channel: Channel) -> list[type[EventData]]:
    """The event types that travel on a channel, in the table's order."""
    return [model for model, channels in ROUTES.items() if channel in channels]
