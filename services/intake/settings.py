"""Intake's settings (``LIANBAN_INTAKE_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from shared.materials.upload import UploadRules
from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_INTAKE_", extra="ignore")

    port: int = 8101
    catalog_path: Path = Path(__file__).parent / "catalog.json"
    require_signatures: bool = False  # refuse a department's action on Kafka that its registered key did not sign
    # Materials received at the window (shared/materials): limits stated and enforced (413), types by content (415),
    # and the center's virus scanner, a command given `{path}` that accepts with exit 0 (422 otherwise).
    material_max_bytes: int = 512 * 1024 * 1024
    case_materials_max_bytes: int = 2 * 1024 * 1024 * 1024
    material_types: tuple[str, ...] = ("application/pdf", "image/jpeg", "image/png", "image/tiff")
    material_scan_command: str = ""
    # Files of concluded cases are kept this long after the conclusion, then removed by `lianban materials expire`
    # (their records and every read stay); set it to the center's archive rules.
    material_retention_days: int = 3650

    def upload_rules(self) -> UploadRules:
        return UploadRules(self.material_max_bytes, self.material_types, self.material_scan_command)
