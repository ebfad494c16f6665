"""Messages travel as CloudEvents 1.0 in structured JSON mode; bad ones are refused with a reason."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.contracts import CloudEvent, DepartmentResult, MalformedEvent, Outcome
from shared.topics import Topics

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def a_result(**changes: object) -> DepartmentResult:
    fields = {"work_order_id": "LB1-tax", "case_id": "LB1", "department": "tax", "part_code": "TAX-REG",
              "outcome": Outcome.APPROVED, "document_number": "TAX-2026-000001", "decided_at": NOW} | changes
    return DepartmentResult(**fields)  # type: ignore[arg-type]


def test_an_event_round_trips_with_every_cloudevents_attribute() -> None:
    event = CloudEvent.wrap(a_result(), source="/lianban/demo/adapter-tax", subject="LB1")
    raw = event.to_bytes()
    back = CloudEvent.from_bytes(raw)
    assert back.specversion == "1.0"
    assert back.type == "cn.lianban.department.result.v1"
    assert back.subject == "LB1"
    assert back.datacontenttype == "application/json"
    assert back.payload() == a_result()


def test_a_denial_without_legal_basis_is_refused() -> None:
    with pytest.raises(ValidationError, match="legal_basis"):
        a_result(outcome=Outcome.DENIED, document_number=None, reason="材料不全")


def test_an_approval_needs_its_document_number() -> None:
    with pytest.raises(ValidationError, match="document_number"):
        a_result(document_number=None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"not json", "not a CloudEvent"),
        (b'{"specversion":"1.0","id":"1","source":"/x","type":"cn.lianban.nope.v1","subject":"c","data":{}}',
         "unknown event type"),
        (b'{"specversion":"1.0","id":"1","source":"/x","type":"cn.lianban.department.result.v1",'
         b'"subject":"c","data":{"case_id":"c"}}', "bad cn.lianban.department.result.v1 data"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        CloudEvent.from_bytes(raw).payload()


def test_topics_are_scoped_by_center_with_one_work_topic_per_department() -> None:
    topics = Topics("hangzhou")
    assert topics.work("tax") == "lianban.hangzhou.work.tax"
    assert topics.work("tax") != Topics("xihu").work("tax")
    assert topics.case_events == "lianban.hangzhou.case.events"
