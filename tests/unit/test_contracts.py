"""Messages travel as CloudEvents 1.0 in structured JSON mode; bad ones are refused with a reason."""

import hashlib
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.contracts import Approve, CloudEvent, DeadLetter, DepartmentActed, MalformedEvent, RequestSupplement
from shared.topics import Topics

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def an_action(**changes: object) -> DepartmentActed:
    fields = {
        "work_order_id": "LB1-tax",
        "case_id": "LB1",
        "department": "tax",
        "staff_id": "TAX-01",
        "acted_at": NOW,
        "action": Approve(document_number="TAX-2026-000001"),
    } | changes
    return DepartmentActed(**fields)


def test_an_event_round_trips_with_every_cloudevents_attribute() -> None:
    event = CloudEvent.wrap(an_action(), source="/lianban/demo/adapter-tax", subject="LB1")
    raw = event.to_bytes()
    back = CloudEvent.from_bytes(raw)
    assert back.specversion == "1.0"
    assert back.type == "cn.lianban.department.action.v1"
    assert back.subject == "LB1"
    assert back.datacontenttype == "application/json"
    assert back.payload() == an_action()


def test_actions_are_told_apart_by_their_kind() -> None:
    raw = an_action(action={"kind": "supplement", "items": [{"material": "公司章程", "reason": "未签字"}]})
    assert isinstance(raw.action, RequestSupplement)
    with pytest.raises(ValidationError, match="approve"):
        an_action(action={"kind": "approve", "document_number": "X", "stamp": "extra field"})


def test_an_action_names_who_acted() -> None:
    with pytest.raises(ValidationError, match="staff_id"):
        an_action(staff_id="")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"not json", "not a CloudEvent"),
        (
            b'{"specversion":"1.0","source":"/x","type":"cn.lianban.case.evaluated.v1","subject":"c","data":{}}',
            "id: Field required",
        ),
        (
            b'{"specversion":"1.0","id":"1","source":"/x","type":"cn.lianban.case.evaluated.v1","subject":"' + b"c" * 65 + b'",'
            b'"data":{}}',
            "subject: String should have at most 64",
        ),
        (
            b'{"specversion":"1.0","id":"1","source":"/x","type":"cn.lianban.nope.v1","subject":"c","data":{}}',
            "unknown event type",
        ),
        (
            b'{"specversion":"1.0","id":"1","source":"/x","type":"cn.lianban.department.action.v1",'
            b'"subject":"c","data":{"case_id":"c"}}',
            "bad cn.lianban.department.action.v1 data",
        ),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        CloudEvent.from_bytes(raw).payload()


def test_a_forged_state_is_refused_not_passed_on() -> None:
    recorded = {
        "case_id": "LB1",
        "work_order_id": "LB1-tax",
        "department": "tax",
        "staff_id": "T",
        "acted_at": NOW.isoformat(),
        "action": {"kind": "accept"},
        "part_state": "pre_accepted",
        "case_state": "pwned",
    }
    raw = CloudEvent(id="1", source="/x", type="cn.lianban.part.action_recorded.v1", subject="LB1", data=recorded).to_bytes()
    with pytest.raises(MalformedEvent, match="case_state"):
        CloudEvent.from_bytes(raw).payload()


def test_topics_are_scoped_by_center_with_one_work_topic_per_department() -> None:
    topics = Topics("hangzhou")
    assert topics.work("tax") == "lianban.hangzhou.work.tax"
    assert topics.work("tax") != Topics("xihu").work("tax")
    assert topics.case_events == "lianban.hangzhou.case.events"


def test_a_dead_letter_of_a_huge_message_still_fits_on_the_dead_letter_topic() -> None:
    original = b'{"data": "' + b"x" * 5_000_000 + b'"}'
    letter = DeadLetter.of(consumer="c", error="too big", topic="t", partition=0, offset=7, key="LB1", original=original)
    assert len(CloudEvent.wrap(letter, source="/x", subject="LB1").to_bytes()) < 100_000  # the producer sends 1 MB
    assert (letter.original_bytes, letter.original_sha256) == (len(original), hashlib.sha256(original).hexdigest())
    assert letter.original.startswith('{"data": "xxx')
