"""A department adapter's settings (``LIANBAN_ADAPTER_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AdapterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_ADAPTER_", extra="ignore")

    department: str = Field(..., pattern=r"^[a-z0-9_]+$")
    connector: Literal["http"] = "http"
    connector_url: str = "http://127.0.0.1:8201"
    connector_timeout_seconds: float = 30.0
    intake_url: str = "http://127.0.0.1:8101"  # the center's intake, where the department fetches its files
    attempts: int = 30  # with the backoff capped at 5 minutes: about two hours before giving up
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 300.0
    concurrency: int = 64
    poll_seconds: float = 30.0  # how often to ask again about work the department is still deciding
