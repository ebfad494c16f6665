"""The AsyncAPI 3.1 document of every topic and message, generated from the contracts.

`make docs` writes it to docs/asyncapi.json; a test keeps the file in sync with this code.
"""

from __future__ import annotations

import json
from typing import Any, cast

from shared import routing
from shared.contracts.envelope import CloudEvent, EventData
from shared.topics import CHANNELS

SERVERS = {
    "center": {
        "host": "{host}",
        "protocol": "kafka-secure",
        "description": "A center's cluster: SASL SCRAM-SHA-512 over TLS, one principal per service and per department "
        "(department-<department>), each held by ACLs to its own topics (docs/integration.md, section 1).",
        "variables": {"host": {"description": "The bootstrap servers the center gives, e.g. kafka-1.center.gov:9093."}},
        "security": [{"$ref": "#/components/securitySchemes/scram"}],
    },
    "local": {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": "`make run`'s broker: SASL_PLAINTEXT SCRAM-SHA-512 on the loopback, passwords in "
        ".run/kafka/credentials.json.",
        "security": [{"$ref": "#/components/securitySchemes/scram"}],
    },
}
SECURITY_SCHEMES = {
    "scram": {
        "type": "scramSha512",
        "description": "The principal the center issued: a service's name, or department-<department> for a department.",
    }
}
PARAMETERS = {
    "center": {"description": "The service center, e.g. a city or district code."},
    "department": {"description": "The department code from the catalog, e.g. tax, fire, market."},
    "peer": {"description": "The center the records are for (shared/centers.json), e.g. hangzhou for xihu's parent."},
}


def document() -> dict[str, Any]:
    channels, operations, messages, schemas = {}, {}, {}, {}
    for channel in CHANNELS:
        channel_id, address = channel.id, channel.address
        refs = {}
        for model in routing.messages(channel):
            name = model.__name__
            schemas[name] = _envelope_schema(model)
            messages[name] = {
                "name": model.event_type,
                "title": name,
                "summary": (model.__doc__ or "").strip(),
                "contentType": "application/cloudevents+json",
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "correlationId": {"location": "$message.payload#/subject"},
            }
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        params = {p: PARAMETERS[p] for p in PARAMETERS if "{" + p + "}" in address}
        channels[channel_id] = {"address": address, "description": channel.description, "messages": refs, "parameters": params}
        for action, services in (("send", channel.senders), ("receive", channel.receivers)):
            for service in services:
                operations[f"{service}_{action}_{channel_id}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{channel_id}"},
                    "summary": f"{service} {action}s on {address}",
                    "messages": [{"$ref": f"#/channels/{channel_id}/messages/{n}"} for n in refs],
                }
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Lianban 联办",
            "version": "1.0.0",
            "description": "Cross-department joint case handling. Every message is a CloudEvents 1.0 "
            "event in structured JSON mode, keyed by case id.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _envelope_schema(model: type[EventData]) -> dict[str, Any]:
    envelope = CloudEvent.model_json_schema()
    data = model.model_json_schema(ref_template="#/components/schemas/" + model.__name__ + "/$defs/{model}")
    envelope["title"] = model.__name__
    envelope["properties"]["type"] = {"const": model.event_type, "type": "string"}
    envelope["properties"]["data"] = {k: v for k, v in data.items() if k != "$defs"}
    if "$defs" in data:
        envelope["$defs"] = data["$defs"]
    return cast(dict[str, Any], _asyncapi_schema(envelope))


def _asyncapi_schema(node: Any) -> Any:
    """AsyncAPI's Schema Object names a discriminator by its property alone (a string), where
    Pydantic writes OpenAPI's object with a mapping; the `oneOf` with `const` kinds already says it."""
    if isinstance(node, dict):
        return {
            k: (v["propertyName"] if k == "discriminator" and isinstance(v, dict) else _asyncapi_schema(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_asyncapi_schema(v) for v in node]
    return node


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
