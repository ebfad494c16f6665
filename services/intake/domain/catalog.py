"""The catalog of matters (事项目录) and joint matters (联办事项), validated when it is loaded.

Only catalog matters may be handled (未列入目录一律不得实施). Each matter publishes its "seven
publics" (七公开); a committed limit above the legal one, or a public-service matter with an
approval step, is refused at load with a message naming the matter.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.departments import Department, Departments


class CatalogError(ValueError):
    """The catalog file is not valid; the message names the matter and the rule."""


class MatterKind(StrEnum):
    LICENCE = "licence"  # 行政许可
    PRELIMINARY_REVIEW = "preliminary_review"  # 初审（转报上级）
    PUBLIC_SERVICE = "public_service"  # 服务事项


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fee(_Entry):
    item: str
    amount_yuan: float = Field(ge=0)
    basis: str


class Contact(_Entry):
    window: str
    phone: str


class Matter(_Entry):
    """One department's matter, with the seven publics."""

    code: str
    name: str
    department: str
    kind: MatterKind
    legal_basis: str = Field(min_length=1)
    conditions: list[str] = Field(min_length=1)
    materials: list[str] = Field(min_length=1)
    committed_days: int = Field(ge=0, description="承诺时限, working days")
    legal_days: int = Field(ge=0, description="法定时限, working days")
    fees: list[Fee] = Field(default_factory=list, description="Empty: free of charge (不收费).")
    contact: Contact
    has_approval_step: bool = True
    silence_means_yes: bool = Field(default=False, description="超时默许 may apply to this matter.")
    parent_matter: str | None = Field(
        default=None,
        description="初审转报: the matter code the parent center decides this first review under (default: this code). "
        "Only for a preliminary review, which a center with a parent transfers up; a center without one decides it itself.",
    )

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.committed_days > self.legal_days:
            raise ValueError(f"committed limit {self.committed_days} exceeds the legal limit {self.legal_days}")
        if self.kind is MatterKind.PUBLIC_SERVICE and self.has_approval_step:
            raise ValueError("a public-service matter cannot have an approval step")
        if self.silence_means_yes and self.kind is not MatterKind.LICENCE:
            raise ValueError("silence means yes applies to licences only")
        if self.parent_matter and self.kind is not MatterKind.PRELIMINARY_REVIEW:
            raise ValueError("only a preliminary review names the parent center's matter")
        return self

    @property
    def transferred(self) -> bool:
        """Reviewed here first and decided by the parent center (初审转报), where there is one."""
        return self.kind is MatterKind.PRELIMINARY_REVIEW


class JointMatter(_Entry):
    """A joint mechanism (并联审批机制): lead department, parts, limits."""

    code: str
    name: str
    lead: str
    parts: list[str] = Field(min_length=2, description="Matter codes, one per department.")
    pre_review_days: int = Field(ge=0, description="Working days each department has to answer the pre-review.")
    overall_days: int = Field(ge=0, description="The case's overall limit after acceptance.")
    green_channel: bool = False
    tracker: str | None = Field(default=None, description="The named person who follows a key project end to end.")
    limits: dict[str, int] = Field(default_factory=dict, description="Green-channel limits per matter, working days.")


class Catalog(_Entry):
    departments: dict[str, Department]
    matters: dict[str, Matter]
    joint_matters: dict[str, JointMatter]

    @classmethod
    def load(cls, path: Path, departments: Departments) -> Catalog:
        """The catalog file's matters, each owned by one of the center's departments."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        try:
            matters = {m["code"]: Matter.model_validate(m) for m in raw["matters"]}
            joint = {j["code"]: JointMatter.model_validate(j) for j in raw["joint_matters"]}
        except ValidationError as exc:
            err = exc.errors()[0]
            raise CatalogError(
                f"{path.name}: {err['input'].get('code', '?') if isinstance(err['input'], dict) else '?'}"
                f" {'.'.join(map(str, err['loc']))}: {err['msg']}"
            ) from None
        except KeyError as exc:
            raise CatalogError(f"{path.name}: missing section {exc}") from None
        catalog = cls(departments=departments, matters=matters, joint_matters=joint)
        catalog.check()
        return catalog

    def check(self) -> None:
        for matter in self.matters.values():
            if matter.department not in self.departments:
                raise CatalogError(f"{matter.code}: unknown department {matter.department}")
        for joint in self.joint_matters.values():
            unknown = [c for c in joint.parts if c not in self.matters]
            if unknown:
                raise CatalogError(f"{joint.code}: unknown matters {unknown}")
            owners = [self.matters[c].department for c in joint.parts]
            if len(set(owners)) != len(owners):
                raise CatalogError(f"{joint.code}: one part per department")
            if joint.lead not in owners:
                raise CatalogError(f"{joint.code}: the lead department {joint.lead} has no part")
            for code, days in joint.limits.items():
                if code not in joint.parts or days > self.matters[code].committed_days:
                    raise CatalogError(f"{joint.code}: green-channel limit for {code} must shorten one of its parts")
            if joint.green_channel and not joint.tracker:
                raise CatalogError(f"{joint.code}: a green-channel matter names the person who tracks it")

    def part_limit(self, joint: JointMatter, matter_code: str) -> int:
        return joint.limits.get(matter_code, self.matters[matter_code].committed_days)
