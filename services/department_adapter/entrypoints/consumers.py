"""The one topic an adapter reads, its department's own work topic, and the handler for it."""

from __future__ import annotations

from services.department_adapter.service_layer.accept import AcceptWork
from shared.messaging.consumer import Apply
from shared.topics import Topics


def handlers(topics: Topics, department: str, accept: AcceptWork) -> dict[str, Apply]:
    return {topics.work(department): accept.apply}  # work orders, handling, notices: into the durable inbox
