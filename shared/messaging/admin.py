"""Creating the center's topics before the services use them."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.messaging.broker import client_security
from shared.settings import KafkaSettings


async def ensure_topics(kafka: KafkaSettings, names: list[str]) -> None:
    """Create the topics that are missing; existing ones are left as they are."""
    partitions, replication = kafka.topic_partitions, kafka.topic_replication_factor
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, **client_security(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, partitions, replication) for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service was quicker
                await admin.create_topics(missing)
    finally:
        await admin.close()
