"""Every topic supervision reads, and the handler for each: messages become calls at this boundary."""

from __future__ import annotations

from services.supervision.service_layer.watch import Watcher, record
from shared.messaging.consumer import Apply
from shared.topics import Topics


def handlers(topics: Topics, watcher: Watcher) -> dict[str, Apply]:
    return {
        topics.case_events: watcher.follow,  # timeline, part clocks, violations
        topics.replies: record,  # the one reply, on the case's timeline
        topics.acknowledgements: watcher.acknowledge,  # 回告 of notices
    }
