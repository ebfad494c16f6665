"""The lead window files a case once: one case per Idempotency-Key, and its events in the outbox."""

from pathlib import Path

import pytest
from sqlalchemy import select

from deploy.demo import restaurant_case
from services.intake.adapters.orm import Base
from services.intake.domain.case import Application, ApplicationInvalid
from services.intake.domain.catalog import Catalog, CatalogError
from services.intake.service_layer.submit import IdempotencyConflict, SubmitCase, UnknownMatter
from shared.contracts import Applicant, CloudEvent
from shared.messaging.outbox import Outbox, OutboxRow
from shared.settings import IntakeSettings
from shared.topics import Topics
from tests.unit.helpers import sqlite_sessions

CATALOG = Catalog.load(IntakeSettings().catalog_path)


def application(**changes: object) -> Application:
    body = restaurant_case(applicant_id="91330100MA2H000001")
    fields = {"matter_code": body["matter_code"], "applicant": Applicant(**body["applicant"]),
              "lead_department": "market", "window_id": "W-03", "staff_id": "S-0107",
              "materials": body["materials"]} | changes
    return Application(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def submit(tmp_path: Path) -> SubmitCase:
    sessions = await sqlite_sessions(tmp_path, Base.metadata)
    return SubmitCase(sessions, CATALOG, Outbox("/test/intake"), Topics("test"), after_commit=lambda: None)


async def queued(submit: SubmitCase) -> list[tuple[str, CloudEvent]]:
    async with submit.sessions() as session:
        rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [(r.topic, CloudEvent.from_bytes(r.payload)) for r in rows]


async def test_a_case_publishes_submission_and_one_work_order_per_department(submit: SubmitCase) -> None:
    result = await submit(application(), idempotency_key=None)
    events = await queued(submit)
    assert [t for t, _ in events] == ["lianban.test.case.events", "lianban.test.work.market",
                                      "lianban.test.work.fire", "lianban.test.work.tax"]
    assert all(e.subject == result.record.case_id for _, e in events)
    fire_order = events[2][1].payload()
    assert fire_order.materials == {"消防安全检查申请表": "doc://demo/fire-form",  # type: ignore[attr-defined]
                                    "场所消防安全制度": "doc://demo/fire-rules"}


async def test_the_same_idempotency_key_gives_the_same_case(submit: SubmitCase) -> None:
    first = await submit(application(), idempotency_key="k-1")
    again = await submit(application(), idempotency_key="k-1")
    assert again.record.case_id == first.record.case_id
    assert (first.created, again.created) == (True, False)
    assert len(await queued(submit)) == 4


async def test_a_reused_key_with_another_application_is_refused(submit: SubmitCase) -> None:
    await submit(application(), idempotency_key="k-2")
    with pytest.raises(IdempotencyConflict):
        await submit(application(window_id="W-09"), idempotency_key="k-2")


async def test_every_missing_material_is_named_at_once(submit: SubmitCase) -> None:
    materials = {"market": {"食品经营许可申请书": "doc://x"}, "fire": {}, "tax": {"财务负责人信息": "doc://y"}}
    with pytest.raises(ApplicationInvalid) as caught:
        await submit(application(materials=materials), idempotency_key=None)
    fields = [field for field, _ in caught.value.problems]
    assert fields == ["materials.market", "materials.fire"]
    assert await queued(submit) == []


async def test_only_the_lead_department_takes_the_case(submit: SubmitCase) -> None:
    with pytest.raises(ApplicationInvalid, match="led by market"):
        await submit(application(lead_department="tax"), idempotency_key=None)


async def test_an_unknown_matter_is_refused(submit: SubmitCase) -> None:
    with pytest.raises(UnknownMatter):
        await submit(application(matter_code="JM-NOPE"), idempotency_key=None)


def test_a_catalog_whose_lead_has_no_part_is_refused_at_load(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text('{"departments": {"tax": {"name": "税务局"}, "fire": {"name": "消防"}}, "joint_matters": '
                   '[{"code": "JM-X", "name": "x", "lead": "market", "parts": ['
                   '{"department": "tax", "code": "T", "name": "t", "time_limit_days": 1},'
                   '{"department": "fire", "code": "F", "name": "f", "time_limit_days": 1}]}]}')
    with pytest.raises(CatalogError, match="JM-X: the lead department market has no part"):
        Catalog.load(bad)
