"""The catalog is checked when it is loaded: only lawful matters and well-formed joint mechanisms."""

import json
from pathlib import Path

import pytest

from services.intake.domain.catalog import Catalog, CatalogError
from services.intake.settings import IntakeSettings
from shared.departments import load_departments
from tests.builders import CATALOG


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
        Catalog.load(write_catalog(tmp_path, {"committed_days": 30, "legal_days": 15}), load_departments())


def test_a_public_service_with_an_approval_step_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"MKT-REG.*public-service matter cannot have an approval step"):
        Catalog.load(write_catalog(tmp_path, {"kind": "public_service", "has_approval_step": True}), load_departments())


def test_the_sample_catalog_has_the_joint_matters_of_the_domain() -> None:
    assert set(CATALOG.joint_matters) >= {"JM-ENT-001", "JM-ROAD-001", "JM-BUILD-001", "JM-REST-001", "JM-KEY-001"}
    departments = {CATALOG.matters[c].department for c in CATALOG.joint_matters["JM-BUILD-001"].parts}
    assert departments == {"drc", "planning", "land", "construction", "fire", "environment"}
