"""Intake's settings (``LIANBAN_INTAKE_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_INTAKE_", extra="ignore")

    port: int = 8101
    catalog_path: Path = Path(__file__).parent / "catalog.json"
    require_signatures: bool = False  # refuse a department's action on Kafka that its registered key did not sign
