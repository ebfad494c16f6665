"""Opening a joint case: the application is checked against the joint matter once, at the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.catalog import JointMatter
from shared.contracts import Applicant


class ApplicationInvalid(ValueError):
    """What is wrong with an application, field by field, all at once."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))
        self.problems = problems


@dataclass(frozen=True)
class Application:
    matter_code: str
    applicant: Applicant
    lead_department: str
    window_id: str
    staff_id: str
    materials: dict[str, dict[str, str]]


@dataclass(frozen=True)
class PartOrder:
    work_order_id: str
    department: str
    part_code: str
    part_name: str
    time_limit_days: int
    materials: dict[str, str]


@dataclass(frozen=True)
class Case:
    case_id: str
    matter_code: str
    matter_name: str
    lead_department: str
    applicant: Applicant
    parts: tuple[PartOrder, ...]
    submitted_at: datetime


def open_case(matter: JointMatter, application: Application, case_id: str, now: datetime) -> Case:
    """A case with one work order per department part, or every problem with the application."""
    problems: list[tuple[str, str]] = []
    if application.lead_department != matter.lead:
        problems.append(("lead_window.department",
                         f"{matter.code} is led by {matter.lead}, not {application.lead_department}"))
    owners = {p.department for p in matter.parts}
    problems += [(f"materials.{d}", f"{d} has no part in {matter.code}")
                 for d in application.materials if d not in owners]
    for part in matter.parts:
        given = application.materials.get(part.department, {})
        missing = [m for m in part.required_materials if not given.get(m)]
        if missing:
            problems.append((f"materials.{part.department}", f"missing required materials: {'、'.join(missing)}"))
    if problems:
        raise ApplicationInvalid(problems)
    parts = tuple(
        PartOrder(f"{case_id}-{p.department}", p.department, p.code, p.name, p.time_limit_days,
                  dict(application.materials.get(p.department, {})))
        for p in matter.parts
    )
    return Case(case_id, matter.code, matter.name, matter.lead, application.applicant, parts, now)
