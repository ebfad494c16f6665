"""A department adapter's settings (``LIANBAN_ADAPTER_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.departments import Bridge
from shared.settings import KafkaSettings, ServiceSettings


class MirrorKafkaSettings(KafkaSettings):
    """kafka: the department's own cluster, where its system reads the mirrored work (as its principal there)."""

    model_config = SettingsConfigDict(env_prefix="LIANBAN_ADAPTER_MIRROR_KAFKA_", extra="ignore")


class AdapterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_ADAPTER_", extra="ignore")

    department: str = Field(..., pattern=r"^[a-z0-9_]+$")
    connector: Bridge = Field("http", description="How the department's system is reached (docs/integration.md, 'Bridges').")
    connector_url: str = "http://127.0.0.1:8201"  # http: the department system's API
    connector_timeout_seconds: float = 30.0
    intake_url: str = "http://127.0.0.1:8101"  # the center's intake, where the department fetches its files
    ferry_outgoing: Path | None = Field(None, description="ferry: where the center writes bundles for the department.")
    ferry_incoming: Path | None = Field(None, description="ferry: where the department's bundles arrive.")
    ferry_bundle_seconds: float = Field(2.0, description="ferry: how often waiting work is written out as a bundle.")
    interface_database_url: str = Field("", description="database: the intermediate database (中间库) both sides reach.")
    mirror_kafka: MirrorKafkaSettings = Field(default_factory=MirrorKafkaSettings)
    mirror_group: str = Field("", description="kafka: its system's consumer group there; default `<adapter group>.system`.")
    bridge_poll_seconds: float = Field(1.0, description="ferry, database: how often to look for the department's answers.")
    report_seconds: float = Field(10.0, description="How often the bridge reports how it stands to supervision.")
    attempts: int = 30  # with the backoff capped at 5 minutes: about two hours before giving up
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 300.0
    concurrency: int = 64
    poll_seconds: float = 30.0  # how often to ask again about work the department is still deciding
