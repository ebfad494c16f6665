"""Creating the center's topics before the services use them, and waiting until they can be used."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from shared.messaging.broker import client_security
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


async def ensure_topics(kafka: KafkaSettings, names: list[str], *, ready_within: float = 30.0) -> None:
    """Create the topics that are missing (existing ones are left as they are), then wait until every
    partition has a leader: a first publish to a partition without one fails after a long timeout."""
    partitions, replication = kafka.topic_partitions, kafka.topic_replication_factor
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, **client_security(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, partitions, replication) for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service was quicker
                _raise_refusals(await admin.create_topics(missing))
        await _leaders_elected(admin, names, ready_within)
    finally:
        await admin.close()


def _raise_refusals(response: Any) -> None:
    """The broker answers a refused create per topic, not as an error of the call: one this process may
    not create (its ACLs) fails the start at once, naming the topic, instead of waiting for a leader."""
    refused = [(t[0], t[1]) for t in response.topic_errors if t[1] not in (0, TopicAlreadyExistsError.errno)]
    if refused:
        topic, code = refused[0]
        raise for_code(code)(f"cannot create {topic}: {for_code(code).__name__} ({len(refused)} topics refused)")


async def _leaders_elected(admin: AIOKafkaAdminClient, names: list[str], within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        described = await admin.describe_topics(names)
        waiting = [
            t["topic"]
            for t in described
            if t.get("error_code") or not t.get("partitions") or any(p.get("leader", -1) < 0 for p in t["partitions"])
        ]
        if not waiting:
            return
        if time.monotonic() > deadline:
            log.warning("topics still without a leader after %.0f s: %s", within, ", ".join(waiting))
            return
        await asyncio.sleep(0.2)
