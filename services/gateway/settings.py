"""The gateway's settings (``LIANBAN_GATEWAY_*``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_GATEWAY_", extra="ignore")

    port: int = 8102
