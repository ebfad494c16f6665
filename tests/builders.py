"""Builders for joint cases from the sample catalog, for rule-level tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.intake.domain.case import Application, open_case
from services.intake.domain.catalog import Catalog
from services.intake.domain.lifecycle import JointCase
from services.intake.settings import IntakeSettings
from shared.contracts import Applicant, DepartmentActed, DepartmentAction, HandlingStarted, MaterialFile, WorkOrder
from shared.departments import load_departments

CATALOG = Catalog.load(IntakeSettings().catalog_path, load_departments())
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def materials_for(matter_code: str) -> dict[str, dict[str, str]]:
    joint = CATALOG.joint_matters[matter_code]
    return {
        CATALOG.matters[c].department: {m: f"doc://{c}/{i}" for i, m in enumerate(CATALOG.matters[c].materials)}
        for c in joint.parts
    }


def application(**changes: object) -> Application:
    fields = {
        "matter_code": "JM-REST-001",
        "applicant": Applicant(kind="enterprise", name="杭州味道餐饮管理有限公司", id_number="91330100MA2H000001"),
        "lead_department": "market",
        "window_id": "W-03",
        "staff_id": "S-0107",
        "materials": materials_for("JM-REST-001"),
    } | changes
    return Application(**fields)  # type: ignore[arg-type]


def a_case(matter_code: str = "JM-REST-001", case_id: str = "LB1") -> JointCase:
    joint = CATALOG.joint_matters[matter_code]
    filed = application(matter_code=matter_code, lead_department=joint.lead, materials=materials_for(matter_code))
    return open_case(CATALOG, joint, filed, case_id, "test", T0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def acted(
    case_id: str, department: str, action: DepartmentAction, *, staff_id: str = "t-01", at: datetime | None = None
) -> DepartmentActed:
    """A department's action on its part of a case, as it would send it on its actions topic."""
    return DepartmentActed(
        case_id=case_id,
        work_order_id=f"{case_id}-{department}",
        department=department,
        staff_id=staff_id,
        acted_at=at or datetime.now(UTC),
        action=action,
    )


def fire_work_order(
    case_id: str = "LB1",
    *,
    applicant_no: int = 1,
    round: int = 1,
    center: str = "demo",
    materials: dict[str, str] | None = None,
    files: list[MaterialFile] | None = None,
    issued_at: datetime | None = None,
) -> WorkOrder:
    """The fire department's pre-review of a restaurant case, as its adapter receives it (the bridges' tests
    and bench)."""
    return WorkOrder(
        work_order_id=f"{case_id}-fire",
        round=round,
        case_id=case_id,
        center=center,
        matter_code="JM-REST-001",
        department="fire",
        part_code="FIRE-OPEN",
        part_name="公众聚集场所投入使用、营业前消防安全检查",
        applicant=Applicant(kind="enterprise", name="杭州味道餐饮管理有限公司", id_number=f"91330100MA2H{applicant_no:06d}"),
        materials=materials or {"消防安全制度": "doc://LB1/3"},
        material_files=files or [],
        time_limit_days=10,
        pre_review_days=2,
        issued_at=issued_at or datetime.now(UTC),
    )


def handling_of(order: WorkOrder, accepted_at: datetime | None = None) -> HandlingStarted:
    """The handling that follows the order's pre-review."""
    return HandlingStarted(
        work_order_id=order.work_order_id,
        case_id=order.case_id,
        department=order.department,
        part_code=order.part_code,
        part_name=order.part_name,
        applicant=order.applicant,
        materials=order.materials,
        material_files=order.material_files,
        time_limit_days=order.time_limit_days,
        accepted_at=accepted_at or datetime.now(UTC),
    )
