"""The AsyncAPI 3.0 document of every topic and message, generated from the contracts.

`make docs` writes it to docs/asyncapi.json; a test keeps the file in sync with this code.
"""

from __future__ import annotations

import json
from typing import Any

from shared.contracts import (
    ActionRefused,
    AlertAcknowledged,
    CaseAccepted,
    CaseConcluded,
    CaseEvaluated,
    CaseNotAccepted,
    CaseSubmitted,
    CaseSupplemented,
    DeadLetter,
    DepartmentActed,
    DocumentsDelivered,
    HandlingStarted,
    PartActionRecorded,
    SupervisionAlert,
    SupplementRequested,
    UnifiedReply,
    WorkOrder,
)
from shared.contracts.envelope import CloudEvent, EventData

CASE_STORY: list[type[EventData]] = [
    CaseSubmitted, PartActionRecorded, ActionRefused, SupplementRequested, CaseSupplemented, CaseAccepted,
    CaseNotAccepted, CaseConcluded, DocumentsDelivered, CaseEvaluated,
]

# channel id -> (address with parameters, description, messages, who sends, who receives)
CHANNELS: dict[str, tuple[str, str, list[type[EventData]], list[str], list[str]]] = {
    "caseEvents": ("lianban.{center}.case.events",
                   "Everything that happened to each case, as the lead window (intake) recorded it.",
                   CASE_STORY, ["intake"], ["gateway", "supervision"]),
    "work": ("lianban.{center}.work.{department}",
             "Work for one department: pre-review requests (each round), the start of handling, and "
             "supervision's notices, each to be acknowledged. Each department's bridge reads only its own.",
             [WorkOrder, HandlingStarted, SupervisionAlert], ["intake", "supervision"], ["department_adapter"]),
    "departmentActions": ("lianban.{center}.department.actions",
                          "What a department's system did on its part (or supervision's deemed approval on its "
                          "behalf); the case checks and records it.",
                          [DepartmentActed], ["department_adapter", "supervision"], ["intake"]),
    "caseReplies": ("lianban.{center}.case.replies", "The one unified reply (统一回复) per case.",
                    [UnifiedReply], ["gateway"], ["supervision"]),
    "supervisionAlerts": ("lianban.{center}.supervision.alerts",
                          "Supervision's reminders, yellow and red cards, urges, shirking records and deemed approvals.",
                          [SupervisionAlert], ["supervision"], []),
    "acknowledgements": ("lianban.{center}.supervision.acks", "Departments' acknowledgements (回告) of notices.",
                         [AlertAcknowledged], ["department_adapter"], ["supervision"]),
    "deadLetters": ("lianban.{center}.dead-letters",
                    "Messages a consumer could not handle, with the cause, topic, partition and offset.",
                    [DeadLetter], ["intake", "department_adapter", "gateway", "supervision"], []),
}

PARAMETERS = {
    "center": {"description": "The service center, e.g. a city or district code."},
    "department": {"description": "The department code from the catalog, e.g. tax, fire, market."},
}


def document() -> dict[str, Any]:
    channels, operations, messages, schemas = {}, {}, {}, {}
    for channel_id, (address, description, payloads, senders, receivers) in CHANNELS.items():
        refs = {}
        for model in payloads:
            name = model.__name__
            schemas[name] = _envelope_schema(model)
            messages[name] = {
                "name": model.event_type, "title": name, "summary": (model.__doc__ or "").strip(),
                "contentType": "application/cloudevents+json", "payload": {"$ref": f"#/components/schemas/{name}"},
                "correlationId": {"location": "$message.payload#/subject"},
            }
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        params = {p: PARAMETERS[p] for p in PARAMETERS if "{" + p + "}" in address}
        channels[channel_id] = {"address": address, "description": description, "messages": refs,
                                "parameters": params}
        for action, services in (("send", senders), ("receive", receivers)):
            for service in services:
                operations[f"{service}_{action}_{channel_id}"] = {
                    "action": action, "channel": {"$ref": f"#/channels/{channel_id}"},
                    "summary": f"{service} {action}s on {address}",
                    "messages": [{"$ref": f"#/channels/{channel_id}/messages/{n}"} for n in refs],
                }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Lianban 联办", "version": "1.0.0",
                 "description": "Cross-department joint case handling. Every message is a CloudEvents 1.0 "
                                "event in structured JSON mode, keyed by case id."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels, "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _envelope_schema(model: type[EventData]) -> dict[str, Any]:
    envelope = CloudEvent.model_json_schema()
    data = model.model_json_schema(ref_template="#/components/schemas/" + model.__name__ + "/$defs/{model}")
    envelope["title"] = model.__name__
    envelope["properties"]["type"] = {"const": model.event_type, "type": "string"}
    envelope["properties"]["data"] = {k: v for k, v in data.items() if k != "$defs"}
    if "$defs" in data:
        envelope["$defs"] = data["$defs"]
    return envelope


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
