"""Where a case's time goes: every message of each bench case read back from the broker, and each step's
time after the case's filing (the messages' timestamps, set by each producer as it sends; every process of the
bench shares the machine's clock), median and p90 over the cases.

Latency at a light load is the sum of these hops; the table shows which hop to look at.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from deploy.kafka_acls import ADMIN
from deploy.launcher import System

FILED = "case.submitted.v1 "


async def center_partitions(system: System) -> list[TopicPartition]:
    """Every partition of the center's topics."""
    admin = AIOKafkaAdminClient(**system.kafka.client_options(ADMIN))
    await admin.start()
    try:
        described = await admin.describe_topics([t for t in await admin.list_topics() if t.startswith(_prefix(system))])
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]


def _prefix(system: System) -> str:
    return f"lianban.{system.center}."


async def read_back(system: System, cases: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    """Each case's messages on the center's topics, as (timestamp in ms, step); what is not a JSON event
    (a poison message a test left on a shared broker, say) is passed over."""
    wanted, prefix, partitions = set(cases), _prefix(system), await center_partitions(system)
    consumer = AIOKafkaConsumer(**system.kafka.client_options(ADMIN), enable_auto_commit=False)
    await consumer.start()
    timelines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {p: end for p, end in (await consumer.end_offsets(partitions)).items() if end > 0}
        while remaining:
            for partition, records in (await consumer.getmany(*remaining, timeout_ms=500)).items():
                for record in records:
                    try:
                        event = json.loads(record.value)
                    except (TypeError, ValueError):
                        continue
                    if isinstance(event, dict) and event.get("subject") in wanted:
                        step = _step(event, record.topic.removeprefix(prefix), system)
                        timelines[event["subject"]].append((record.timestamp, step))
                if records and records[-1].offset + 1 >= remaining[partition]:
                    del remaining[partition]
    finally:
        await consumer.stop()
    return timelines


def _step(event: dict[str, object], topic: str, system: System) -> str:
    """`type[/action kind] on topic`, a department's name in the topic written as {department}."""
    data = event.get("data")
    action = data.get("action") if isinstance(data, dict) else None
    kind = f"/{action['kind']}" if isinstance(action, dict) and "kind" in action else ""
    topic = ".".join("{department}" if part in system.departments else part for part in topic.split("."))
    return f"{str(event.get('type', '?')).removeprefix('cn.lianban.')}{kind} on {topic}"


def hop_table(timelines: dict[str, list[tuple[int, str]]]) -> list[str]:
    """Each step's first appearance after the filing, median and p90 over the cases, in the order they come."""
    after: dict[str, list[int]] = defaultdict(list)
    for messages in timelines.values():
        messages.sort()
        filed = next((moment for moment, step in messages if step.startswith(FILED)), None)
        if filed is None:
            continue
        seen: set[str] = set()
        for moment, step in messages:
            if step not in seen:
                seen.add(step)
                after[step].append(moment - filed)
    rows = sorted((statistics.median(v), sorted(v)[int(len(v) * 0.9)], len(v), step) for step, v in after.items())
    lines = ["  where a case's time goes (first message of each step, ms after the filing, by the messages' timestamps):"]
    lines += [f"  {'median':>8} {'p90':>7} {'cases':>6}  step"]
    lines += [f"  {median:8.0f} {p90:7.0f} {count:6d}  {step}" for median, p90, count, step in rows]
    return lines
