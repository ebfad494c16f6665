"""Opening a joint case: the application is checked against the catalog once, at the lead window."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.intake.domain.catalog import Catalog, JointMatter
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import FileFacts, Part, TransferTarget
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
    previous_case_id: str | None = None
    files: FileFacts = field(default_factory=dict)  # the stored files the materials name (checked by the service layer)


def open_case(
    catalog: Catalog,
    joint: JointMatter,
    application: Application,
    case_id: str,
    center: str,
    now: datetime,
    query_code: str = "",
    parent: tuple[str, str] | None = None,
) -> JointCase:
    """A case with one part per department, or every problem with the application at once. `parent`: the code
    and name of the center that decides the parts this center reviews first (初审转报), if it has one."""
    matters = [catalog.matters[code] for code in joint.parts]
    problems: list[tuple[str, str]] = []
    if application.lead_department != joint.lead:
        problems.append(("lead_window.department", f"{joint.code} is led by {joint.lead}, not {application.lead_department}"))
    owners = {m.department for m in matters}
    problems += [(f"materials.{d}", f"{d} has no part in {joint.code}") for d in application.materials if d not in owners]
    for matter in matters:
        given = application.materials.get(matter.department, {})
        missing = [name for name in matter.materials if not given.get(name)]
        if missing:
            problems.append((f"materials.{matter.department}", f"missing required materials: {'、'.join(missing)}"))
    if problems:
        raise ApplicationInvalid(problems)
    parts = [
        Part(
            work_order_id=f"{case_id}-{m.department}",
            department=m.department,
            department_name=catalog.departments[m.department].name,
            part_code=m.code,
            part_name=m.name,
            time_limit_days=catalog.part_limit(joint, m.code),
            silence_means_yes=m.silence_means_yes,
            materials=dict(application.materials.get(m.department, {})),
            transfer=TransferTarget(center=parent[0], center_name=parent[1], matter_code=m.parent_matter or m.code)
            if parent and m.transferred
            else None,
        )
        for m in matters
    ]
    for part in parts:
        part.take_files(case_id, part.materials, application.files)
    return JointCase(
        case_id=case_id,
        center=center,
        matter_code=joint.code,
        matter_name=joint.name,
        lead_department=joint.lead,
        applicant=application.applicant,
        staff_id=application.staff_id,
        query_code=query_code,
        pre_review_days=joint.pre_review_days,
        overall_days=joint.overall_days,
        green_channel=joint.green_channel,
        previous_case_id=application.previous_case_id,
        submitted_at=now,
        parts=parts,
    )
