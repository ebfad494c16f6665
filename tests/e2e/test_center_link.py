"""Two centers exchanging case records, a city (hz) and one of its districts (xh), each on a secured broker
of its own with its ACLs granted as the launcher grants them, linked by MirrorMaker 2
(deploy/center_link.py): what each center's intake sends the other reaches the other's cluster under the
same name, only the link writes it there, and a link killed and restarted loses nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAuthorizationFailedError

from deploy.center_link import CenterLink
from deploy.kafka_acls import ADMIN, apply, exchange_mirror_topics, exchange_principal, plan
from deploy.kafka_local import KafkaAccess, LocalKafka
from shared.topics import Topics
from tests.e2e.kafka_tools import producer

pytestmark = pytest.mark.e2e

CITY, DISTRICT = "hz", "xh"
WAYS = ((CITY, DISTRICT), (DISTRICT, CITY))  # (sender, receiver)


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, KafkaAccess]]:
    """Each center's broker (started side by side), with its intake and its end of the link as principals and
    its plan for the exchange with the other center granted."""
    brokers = {
        center: LocalKafka(workdir=tmp_path_factory.mktemp(f"kafka-{center}"), principals=("intake", exchange_principal(peer)))
        for center, peer in WAYS
    }
    try:
        with ThreadPoolExecutor(len(brokers)) as pool:
            started = dict(zip(brokers, pool.map(LocalKafka.start, brokers.values()), strict=True))
        for center, peer in WAYS:
            asyncio.run(apply(started[center].settings(ADMIN), plan(center, [], peers=[peer])))
        yield started
    finally:
        for broker in brokers.values():
            broker.stop()


@pytest.fixture(scope="module")
def link(clusters: dict[str, KafkaAccess], tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenterLink]:
    center_link = CenterLink(CITY, clusters[CITY], DISTRICT, clusters[DISTRICT], tmp_path_factory.mktemp("link"))
    try:
        center_link.start()
        print(f"\nMirrorMaker 2 cold start (to replicating both ways): {center_link.ready_in:.1f}s")
        yield center_link
    finally:
        center_link.stop()


async def send(options: dict[str, Any], topic: str, values: list[bytes]) -> dict[bytes, int]:
    """Each value keyed as a case would be; the partition each went to."""
    async with producer(options) as client:
        return {value: (await client.send_and_wait(topic, value, key=value[-1:])).partition for value in values}


async def read_until(options: dict[str, Any], topic: str, wanted: set[bytes], timeout: float = 60.0) -> list[tuple[bytes, int]]:
    """Every record of the topic from its beginning (value and partition), read until each wanted value has come."""
    consumer = AIOKafkaConsumer(topic, **options, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    received: list[tuple[bytes, int]] = []
    try:
        deadline = time.monotonic() + timeout
        while not wanted <= {value for value, _ in received}:
            missing = len(wanted - {value for value, _ in received})
            assert time.monotonic() < deadline, f"{missing} of {len(wanted)} records did not arrive on {topic}"
            batch = await consumer.getmany(timeout_ms=200)
            received += [(r.value, r.partition) for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return received


def records(run: str, sender: str, count: int) -> list[bytes]:
    return [f"{run}-{sender}-{i}".encode() for i in range(count)]


async def test_what_each_center_sends_reaches_the_other_once_under_the_same_name(
    clusters: dict[str, KafkaAccess], link: CenterLink
) -> None:
    run = uuid.uuid4().hex[:8]
    for sender, receiver in WAYS:
        topic = Topics(sender).exchange(receiver)
        sent = await send(clusters[sender].client_options("intake"), topic, records(run, sender, 50))
        received = await read_until(clusters[receiver].client_options("intake"), topic, set(sent))
        mine = sorted(record for record in received if record[0].startswith(run.encode()))
        assert mine == sorted(sent.items())  # each once, in the partition it was written to


async def test_on_the_receiving_cluster_only_the_link_writes_what_the_peer_sent(clusters: dict[str, KafkaAccess]) -> None:
    """xh's intake reads what hz sent but may not write it (a record there is hz's); the link may not write what
    xh sends hz either."""
    district, from_city, to_city = clusters[DISTRICT], Topics(CITY).exchange(DISTRICT), Topics(DISTRICT).exchange(CITY)
    for principal, topic in (("intake", from_city), (exchange_principal(CITY), to_city)):
        async with producer(district.client_options(principal)) as client:
            with pytest.raises(TopicAuthorizationFailedError, match=topic):
                await client.send_and_wait(topic, b"not from where it claims")


async def test_each_cluster_keeps_only_the_links_connect_topics_under_its_names(
    clusters: dict[str, KafkaAccess], link: CenterLink
) -> None:
    """No heartbeats, checkpoints or offset-syncs: on each cluster the three Connect topics of the flow that
    writes there, in the family its plan gives the link."""
    for here, other in WAYS:
        admin = AIOKafkaAdminClient(**clusters[here].client_options(ADMIN))
        await admin.start()
        try:
            names = await admin.list_topics()
        finally:
            await admin.close()
        internal = exchange_mirror_topics(here, other)
        assert sorted(n for n in names if "mirror" in n or "heartbeats" in n or n.startswith("mm2-")) == [
            f"{internal}{kind}" for kind in ("configs", "offsets", "status")
        ]


async def test_a_link_killed_and_restarted_loses_nothing(clusters: dict[str, KafkaAccess], link: CenterLink) -> None:
    """Records sent while the link runs, then kill -9, more sent both ways while it is down, a restart: every
    record arrives. Only records that had crossed before the kill may arrive twice (offsets are flushed each
    second, so a kill repeats what crossed since the last flush); the receiving intake is idempotent."""
    run = uuid.uuid4().hex[:8]
    before = {sender: records(run, f"{sender}-before", 100) for sender, _ in WAYS}
    after = {sender: records(run, f"{sender}-after", 100) for sender, _ in WAYS}
    for sender, receiver in WAYS:
        topic = Topics(sender).exchange(receiver)
        await send(clusters[sender].client_options("intake"), topic, before[sender])
        await read_until(clusters[receiver].client_options("intake"), topic, set(before[sender]))
    link.kill()
    for sender, receiver in WAYS:
        await send(clusters[sender].client_options("intake"), Topics(sender).exchange(receiver), after[sender])
    await asyncio.to_thread(link.start)
    print(f"\nMirrorMaker 2 restarted after kill -9, replicating again in {link.ready_in:.1f}s")
    for sender, receiver in WAYS:
        wanted = set(before[sender] + after[sender])
        received = await read_until(clusters[receiver].client_options("intake"), Topics(sender).exchange(receiver), wanted)
        counts = Counter(value for value, _ in received if value in wanted)
        repeated = {value for value, count in counts.items() if count > 1}
        print(f"{sender}->{receiver}: {len(counts)} of {len(wanted)} distinct, {len(repeated)} repeated")
        assert set(counts) == wanted
        assert repeated <= set(before[sender])
