"""The joint matters a center has defined: lead department, parts, materials, limits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class CatalogError(ValueError):
    """The catalog file is not valid; the message names the matter and the rule."""


@dataclass(frozen=True)
class PartDefinition:
    department: str
    code: str
    name: str
    time_limit_days: int
    required_materials: tuple[str, ...]


@dataclass(frozen=True)
class JointMatter:
    code: str
    name: str
    lead: str
    parts: tuple[PartDefinition, ...]

    def part_for(self, department: str) -> PartDefinition | None:
        return next((p for p in self.parts if p.department == department), None)


@dataclass(frozen=True)
class Catalog:
    departments: dict[str, str]
    joint_matters: dict[str, JointMatter]

    @classmethod
    def load(cls, path: Path) -> Catalog:
        raw = json.loads(path.read_text(encoding="utf-8"))
        departments = {code: d["name"] for code, d in raw["departments"].items()}
        matters = [_matter(m, departments) for m in raw["joint_matters"]]
        return cls(departments, {m.code: m for m in matters})


def _matter(raw: dict, departments: dict[str, str]) -> JointMatter:  # type: ignore[type-arg]
    parts = tuple(
        PartDefinition(p["department"], p["code"], p["name"], int(p["time_limit_days"]),
                       tuple(p.get("required_materials", ())))
        for p in raw["parts"]
    )
    matter = JointMatter(raw["code"], raw["name"], raw["lead"], parts)
    owners = [p.department for p in parts]
    if len(parts) < 2:
        raise CatalogError(f"{matter.code}: a joint matter needs at least two departments")
    if len(set(owners)) != len(owners):
        raise CatalogError(f"{matter.code}: one part per department")
    if matter.lead not in owners:
        raise CatalogError(f"{matter.code}: the lead department {matter.lead} has no part")
    unknown = [d for d in owners if d not in departments]
    if unknown:
        raise CatalogError(f"{matter.code}: unknown departments {unknown}")
    if any(p.time_limit_days < 0 for p in parts):
        raise CatalogError(f"{matter.code}: a time limit cannot be negative")
    return matter
