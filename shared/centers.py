"""The centers that exchange cases (city, district, town): who each is, its level, its parent, and its
administrative division code (区划代码, GB/T 2260). One file every center holds the same copy of; a
center exchanges with its parent and its children only, each over its own pair of exchange topics
(`shared/topics.py`, EXCHANGE), each record signed with the sending center's key (docs/exchange.md).
A center not in the file (the single-center `make run`'s `demo`) exchanges with no one."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

CENTERS_FILE = Path(__file__).parent / "centers.json"
CODE = r"^[a-z0-9_-]{1,32}$"  # a center's code becomes part of topic, principal and group names


class Level(StrEnum):
    CITY = "city"  # 市级
    DISTRICT = "district"  # 区县级
    TOWN = "town"  # 乡镇（街道）便民服务中心


class Center(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="As staff and applicants read it, in Chinese.")
    level: Level
    parent: str | None = Field(default=None, description="The center it transfers parts to (转报); none for the top.")
    division: str = Field(pattern=r"^[0-9]{6}([0-9]{3})?$", description="区划代码: 6 digits (GB/T 2260), 9 for a town.")


class Centers:
    """The registry, checked once: every parent known, no center its own ancestor."""

    def __init__(self, centers: dict[str, Center]) -> None:
        self.centers = centers
        wrong = [code for code in centers if not re.fullmatch(CODE, code)]
        if wrong:
            raise ValueError(f"center codes must match {CODE}: {wrong}")
        for code, center in centers.items():
            if center.parent is not None and center.parent not in centers:
                raise ValueError(f"{code}: unknown parent {center.parent}")
            if code in self.ancestors(code):
                raise ValueError(f"{code}: a center cannot be its own ancestor")

    @classmethod
    def load(cls, path: Path = CENTERS_FILE) -> Centers:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(TypeAdapter(dict[str, Center]).validate_python(raw))

    def __contains__(self, code: object) -> bool:
        return code in self.centers

    def __getitem__(self, code: str) -> Center:
        return self.centers[code]

    def ancestors(self, code: str) -> list[str]:
        seen: list[str] = []
        current = self.centers[code].parent if code in self.centers else None
        while current is not None and current not in seen:
            seen.append(current)
            current = self.centers[current].parent
        return seen

    def parent(self, code: str) -> str | None:
        return self.centers[code].parent if code in self.centers else None

    def children(self, code: str) -> list[str]:
        return [c for c, center in self.centers.items() if center.parent == code]

    def peers(self, code: str) -> list[str]:
        """Whom `code` exchanges with: its parent, then its children."""
        parent = self.parent(code)
        return ([parent] if parent else []) + self.children(code)

    def name(self, code: str) -> str:
        return self.centers[code].name if code in self.centers else code
