"""Nothing one message carries stalls the system: on every topic a service reads, each kind of poison
is dead-lettered with its reason by every consumer of that topic, good events without Lianban's
content-type header are handled as any event, a replay changes nothing, and a good case sent after
all of it still gets its one reply within seconds."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from deploy.launcher import System
from shared.contracts import (
    ActionRefused,
    AlertAcknowledged,
    Applicant,
    Approve,
    CaseEvaluated,
    CloudEvent,
    DeadLetter,
    DepartmentActed,
    EventData,
    Outcome,
    UnifiedReply,
    WorkOrder,
)
from tests.e2e.api import new_applicant, reply_of, submit_restaurant
from tests.e2e.kafka_tools import TopicReader

pytestmark = pytest.mark.e2e
NOW = datetime.now(UTC)


def readers(system: System) -> dict[str, tuple[str, ...]]:
    """Each consumed topic and the consumers (groups, by service) that read it."""
    t = system.topics
    return {
        t.case_events: ("gateway", "supervision"),
        t.actions("tax"): ("intake",),
        t.work("fire"): ("adapter-fire",),
        t.replies: ("supervision",),
        t.acknowledgements("tax"): ("supervision",),
    }


def harmless(topic: str, system: System, case_id: str) -> EventData:
    """A valid event for a case nobody filed: handled, and nothing else happens."""
    t = system.topics
    if topic == t.case_events:
        return CaseEvaluated(case_id=case_id, score=5, evaluated_at=NOW)
    if topic == t.actions("tax"):
        return DepartmentActed(
            case_id=case_id,
            work_order_id=f"{case_id}-tax",
            department="tax",
            staff_id="T-1",
            acted_at=NOW,
            action=Approve(document_number="T-1"),
        )
    if topic == t.replies:
        return UnifiedReply(case_id=case_id, outcome=Outcome.APPROVED, message="无", parts=[], replied_at=NOW)
    if topic == t.acknowledgements("tax"):
        return AlertAcknowledged(alert_id="A-none", case_id=case_id, department="tax", staff_id="T-1", acknowledged_at=NOW)
    applicant = Applicant(kind="enterprise", name="测试", id_number="91330100MA2H0POISON")
    return WorkOrder(
        work_order_id=f"{case_id}-fire",
        case_id=case_id,
        center=system.center,
        matter_code="JM-REST-001",
        department="fire",
        part_code="FIRE-OPEN",
        part_name="消防安全检查",
        applicant=applicant,
        materials={},
        time_limit_days=10,
        pre_review_days=1,
        issued_at=NOW,
    )  # the fire system answers; intake refuses


def poisons(subject: str) -> dict[str, bytes]:
    envelope = {"specversion": "1.0", "source": "/poison", "subject": subject}
    return {
        "invalid JSON": b'{"specversion": "1.0", oops',
        "unknown type": CloudEvent(id=str(uuid.uuid4()), type="cn.lianban.nope.v1", data={}, **envelope).to_bytes(),
        "bad data": CloudEvent(
            id=str(uuid.uuid4()), type="cn.lianban.case.evaluated.v1", data={"score": 9}, **envelope
        ).to_bytes(),
        "no id": b'{"specversion":"1.0","source":"/p","type":"cn.lianban.case.evaluated.v1","subject":"x","data":{}}',
    }


def test_poison_on_every_consumed_topic_is_dead_lettered_and_good_cases_go_on(system: System, topics_reader: TopicReader) -> None:
    sent: dict[tuple[str, int, int], tuple[str, str]] = {}  # where a poison landed -> (kind, topic)
    harmless_ids: list[str] = []
    keys: dict[str, str] = {}
    big = system.topics.case_events
    topics_reader.allow_messages_of(big, 8 * 1024 * 1024)
    for topic in readers(system):
        key = keys[topic] = f"LBPOISON{uuid.uuid4().hex[:8].upper()}"
        for kind, raw in poisons(key).items():
            meta = topics_reader.produce(topic, raw, key=key.encode())
            sent[(topic, meta.partition, meta.offset)] = (kind, topic)
        event = CloudEvent.wrap(harmless(topic, system, key), source="/poison", subject=key)
        topics_reader.produce(topic, event.to_bytes(), key=key.encode())  # no header at all
        topics_reader.produce(topic, event.to_bytes(), key=key.encode(), headers=[("content-type", b"application/json")])
        topics_reader.produce(topic, event.to_bytes(), key=key.encode())  # replayed: the same id again
        harmless_ids.append(event.id)
    meta = topics_reader.produce(big, b"\xff" * (5 * 1024 * 1024), key=b"LBPOISONHUGE")  # 5 MB, allowed on this topic
    sent[(big, meta.partition, meta.offset)] = ("5 MB", big)

    filed_at = time.monotonic()
    case_id = submit_restaurant(system, new_applicant())  # after all of it
    assert reply_of(system, case_id, timeout=30)["reply"]["outcome"] == "approved"
    answered_in = time.monotonic() - filed_at

    expected = {(where, consumer) for where, (_, topic) in sent.items() for consumer in readers(system)[topic]}

    def letters_of(events: list[CloudEvent]) -> set[tuple[tuple[str, int, int], str]]:
        found = set()
        for e in events:
            letter = e.payload()
            if isinstance(letter, DeadLetter) and (letter.topic, letter.partition, letter.offset) in sent:
                found.add(((letter.topic, letter.partition, letter.offset), letter.consumer.rsplit("-", 1)[-1]))
        return found

    def every_letter(events: list[CloudEvent]) -> bool:
        return {(w, c.rsplit("-", 1)[-1]) for w, c in expected} <= letters_of(events)

    events = topics_reader.events(system.topics.dead_letters, every_letter, timeout=30)
    letters = [e.payload() for e in events]
    mine = [d for d in letters if isinstance(d, DeadLetter) and (d.topic, d.partition, d.offset) in sent]
    assert {(d.topic, d.partition, d.offset) for d in mine} == set(sent), "every poison is dead-lettered"
    assert all(d.error for d in mine), "each with its reason"
    huge = next(d for d in mine if d.key == "LBPOISONHUGE")
    assert (huge.original_bytes, len(huge.original.encode()) < 200_000) == (5 * 1024 * 1024, True)
    assert not [d for d in letters if isinstance(d, DeadLetter) and any(i in d.original for i in harmless_ids)], (
        "a good event without Lianban's header is handled, not dead-lettered"
    )
    print(f"{len(sent)} poisons sent, {len(mine)} dead letters (one per consumer), a good case answered in {answered_in:.1f} s")

    acted_on = {keys[system.topics.actions("tax")], keys[system.topics.work("fire")]}

    def refused(events: list[CloudEvent]) -> list[str]:
        return [e.subject for e in events if e.subject in acted_on and e.type == ActionRefused.event_type]

    refusals = refused(topics_reader.events(system.topics.case_events, lambda evs: set(refused(evs)) == acted_on))
    assert sorted(refusals) == sorted(acted_on), "sent three times each (no header, JSON header, replay): applied once"
