"""The lead window files a case once: one case per Idempotency-Key, and every department told at once."""

import pytest
from sqlalchemy import select

from services.intake.adapters.orm import SCHEMA
from services.intake.domain.case import ApplicationInvalid
from services.intake.domain.part import Refused
from services.intake.service_layer.idempotency import IdempotencyConflict
from services.intake.service_layer.submit import SubmitCase, UnknownMatter
from shared.contracts import CloudEvent, WorkOrder
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from tests.builders import CATALOG, application
from tests.servers import MakeSessions


@pytest.fixture
async def submit(make_sessions: MakeSessions) -> SubmitCase:
    sessions = await make_sessions(SCHEMA)
    return SubmitCase(sessions, CATALOG, Outbox("/test/intake", Topics("test")), after_commit=lambda: None)


async def queued(submit: SubmitCase) -> list[tuple[str, CloudEvent]]:
    async with submit.sessions() as session:
        rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [(r.topic, CloudEvent.from_bytes(r.payload)) for r in rows]


async def test_a_case_is_forwarded_to_every_department_at_once(submit: SubmitCase) -> None:
    result = await submit(application(), idempotency_key=None)
    events = await queued(submit)
    assert [t for t, _ in events] == [
        "lianban.test.case.events",
        "lianban.test.work.market",
        "lianban.test.work.fire",
        "lianban.test.work.tax",
    ]
    assert all(e.subject == result.case.case_id for _, e in events)
    fire_order = events[2][1].payload()
    assert isinstance(fire_order, WorkOrder)
    assert (fire_order.round, fire_order.pre_review_days, fire_order.time_limit_days) == (1, 1, 10)
    assert set(fire_order.materials) == {"消防安全检查申请表", "场所消防安全制度"}


async def test_the_same_idempotency_key_gives_the_same_case(submit: SubmitCase) -> None:
    first = await submit(application(), idempotency_key="k-1")
    again = await submit(application(), idempotency_key="k-1")
    assert again.case.case_id == first.case.case_id
    assert (first.created, again.created) == (True, False)
    assert len(await queued(submit)) == 4


async def test_a_reused_key_with_another_application_is_refused(submit: SubmitCase) -> None:
    await submit(application(), idempotency_key="k-2")
    with pytest.raises(IdempotencyConflict):
        await submit(application(staff_id="S-0999"), idempotency_key="k-2")


async def test_the_same_key_from_another_window_is_another_case(submit: SubmitCase) -> None:
    first = await submit(application(window_id="W-03"), idempotency_key="0001")
    other = await submit(application(window_id="W-04"), idempotency_key="0001")  # each window numbers its own
    assert (first.created, other.created) == (True, True)
    assert first.case.case_id != other.case.case_id


async def test_every_missing_material_is_named_at_once(submit: SubmitCase) -> None:
    materials = {"market": {"食品经营许可申请书": "doc://x"}, "fire": {}, "tax": {"财务负责人信息": "doc://y"}}
    with pytest.raises(ApplicationInvalid) as caught:
        await submit(application(materials=materials), idempotency_key=None)
    assert [field for field, _ in caught.value.problems] == ["materials.market", "materials.fire"]
    assert await queued(submit) == []


async def test_only_the_lead_department_takes_the_case(submit: SubmitCase) -> None:
    with pytest.raises(ApplicationInvalid, match="led by market"):
        await submit(application(lead_department="tax"), idempotency_key=None)


async def test_only_catalog_matters_are_filed(submit: SubmitCase) -> None:
    with pytest.raises(UnknownMatter):
        await submit(application(matter_code="JM-NOPE"), idempotency_key=None)


async def test_a_second_application_needs_a_first_that_required_rectification(submit: SubmitCase) -> None:
    first = await submit(application(), idempotency_key=None)
    with pytest.raises(Refused, match="rectification"):
        await submit(application(previous_case_id=first.case.case_id), idempotency_key=None)
