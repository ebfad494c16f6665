"""The center's departments (委办局): who they are, by code and Chinese name, and which bridge reaches
their own IT system, if any. One file every process of the center reads: intake's catalog names them,
supervision reads each one's acknowledgements topic, the broker's ACLs give each one its principal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

DEPARTMENTS_FILE = Path(__file__).parent / "departments.json"
CODE = r"^[a-z0-9_]{1,32}$"
Bridge = Literal["http", "ferry", "database", "kafka"]  # docs/integration.md, "Bridges"


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="The department's Chinese name, as staff and applicants read it.")
    bridge: Bridge | None = Field(
        default=None,
        description="How its own IT system is reached: an API (http), a file ferry across its private network (ferry), "
        "an intermediate database (database) or its own Kafka cluster mirrored (kafka); none: its staff use the center's.",
    )


Departments = dict[str, Department]
_FILE = TypeAdapter(dict[str, Department])


def load_departments(path: Path = DEPARTMENTS_FILE) -> Departments:
    """The departments in the file; a code that is not lower-case letters, digits and '_' is refused,
    since it becomes part of topic, principal and consumer-group names."""
    departments = _FILE.validate_python(json.loads(path.read_text(encoding="utf-8")))
    wrong = [code for code in departments if not re.fullmatch(CODE, code)]
    if wrong:
        raise ValueError(f"{path.name}: department codes must match {CODE}: {wrong}")
    return departments


def chinese_names(departments: Departments) -> dict[str, str]:
    """Each department's name by code: what staff and applicants read where a code is stored."""
    return {code: department.name for code, department in departments.items()}


def bridged(departments: Departments) -> dict[str, Bridge]:
    """The departments whose own IT system is bridged, and by which bridge."""
    return {code: department.bridge for code, department in departments.items() if department.bridge is not None}
