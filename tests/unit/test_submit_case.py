"""The lead window files a case once: one case per Idempotency-Key, and every department told at once."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from services.intake.adapters.orm import Base
from services.intake.domain.case import Application, ApplicationInvalid
from services.intake.domain.catalog import Catalog, CatalogError
from services.intake.domain.part import Refused
from services.intake.service_layer.submit import IdempotencyConflict, SubmitCase, UnknownMatter
from shared.contracts import Applicant, CloudEvent, WorkOrder
from shared.messaging.outbox import Outbox, OutboxRow
from shared.settings import IntakeSettings
from shared.topics import Topics
from tests.unit.cases import CATALOG, materials_for
from tests.unit.helpers import sqlite_sessions


def application(**changes: object) -> Application:
    fields = {"matter_code": "JM-REST-001",
              "applicant": Applicant(kind="enterprise", name="杭州味道餐饮管理有限公司", id_number="91330100MA2H000001"),
              "lead_department": "market", "window_id": "W-03", "staff_id": "S-0107",
              "materials": materials_for("JM-REST-001")} | changes
    return Application(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def submit(tmp_path: Path) -> SubmitCase:
    sessions = await sqlite_sessions(tmp_path, Base.metadata)
    return SubmitCase(sessions, CATALOG, Outbox("/test/intake"), Topics("test"), after_commit=lambda: None)


async def queued(submit: SubmitCase) -> list[tuple[str, CloudEvent]]:
    async with submit.sessions() as session:
        rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [(r.topic, CloudEvent.from_bytes(r.payload)) for r in rows]


async def test_a_case_is_forwarded_to_every_department_at_once(submit: SubmitCase) -> None:
    result = await submit(application(), idempotency_key=None)
    events = await queued(submit)
    assert [t for t, _ in events] == ["lianban.test.case.events", "lianban.test.work.market",
                                      "lianban.test.work.fire", "lianban.test.work.tax"]
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
        await submit(application(window_id="W-09"), idempotency_key="k-2")


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


def test_green_channel_limits_shorten_the_parts() -> None:
    key = CATALOG.joint_matters["JM-KEY-001"]
    assert key.green_channel
    assert key.tracker
    assert CATALOG.part_limit(key, "TAX-REG") == 0  # 即时办结
    assert CATALOG.part_limit(key, "PLN-LICENCE") == 19


def write_catalog(tmp_path: Path, matter_changes: dict[str, object]) -> Path:
    """The sample catalog with its first matter (MKT-REG) changed."""
    raw = json.loads(IntakeSettings().catalog_path.read_text(encoding="utf-8"))
    raw["matters"][0] |= matter_changes
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_committed_limit_above_the_legal_one_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"MKT-REG.*exceeds the legal limit"):
        Catalog.load(write_catalog(tmp_path, {"committed_days": 30, "legal_days": 15}))


def test_a_public_service_with_an_approval_step_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"MKT-REG.*public-service matter cannot have an approval step"):
        Catalog.load(write_catalog(tmp_path, {"kind": "public_service", "has_approval_step": True}))


def test_the_sample_catalog_has_the_joint_matters_of_the_domain() -> None:
    assert set(CATALOG.joint_matters) >= {"JM-ENT-001", "JM-ROAD-001", "JM-BUILD-001", "JM-REST-001", "JM-KEY-001"}
    departments = {CATALOG.matters[c].department for c in CATALOG.joint_matters["JM-BUILD-001"].parts}
    assert departments == {"drc", "planning", "land", "construction", "fire", "environment"}
