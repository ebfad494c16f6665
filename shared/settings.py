"""Settings, one class per service, each read from its own environment prefix.

Kafka and the center are shared by every process, so they use unprefixed variables
(``KAFKA_BOOTSTRAP_SERVERS``, ``LIANBAN_CENTER``) that one deployment sets once.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(".run")


class KafkaSettings(BaseSettings):
    """Connection to the center's Kafka cluster, passed through to the client as given."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    topic_partitions: int = 4
    topic_replication_factor: int = 1


class ServiceSettings(BaseSettings):
    """What every service shares: its center, its broker, its own database."""

    model_config = SettingsConfigDict(extra="ignore")

    center: str = Field("demo", validation_alias="LIANBAN_CENTER", pattern=r"^[a-z0-9_-]+$")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "INFO"

    def database(self, service: str) -> str:
        """The configured database, or an SQLite file of the service's own in this center."""
        if self.database_url:
            return self.database_url
        DATA_DIR.mkdir(exist_ok=True)
        return f"sqlite+aiosqlite:///{DATA_DIR / service}-{self.center}.db"


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_INTAKE_", extra="ignore")

    port: int = 8101
    catalog_path: Path = Path(__file__).parent.parent / "services" / "intake" / "catalog.json"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_GATEWAY_", extra="ignore")

    port: int = 8102


class SupervisionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_SUPERVISION_", extra="ignore")

    port: int = 8103
    calendar_overrides: Path = Path(__file__).parent / "calendar_overrides.json"
    scan_interval_seconds: float = 1.0
    scan_batch_size: int = 500
    # "system" follows the wall clock; "manual" lets an operator or a test set the time
    # through POST /api/v1/supervision/clock (demos and tests only).
    clock: Literal["system", "manual"] = "system"
    workday_end: time = time(17, 0)
    # The warning ladder, in working days (this center's thresholds).
    remind_days_before: int = 1
    urge_every_days: int = 1
    shirk_after_urges: int = 3
    red_after_overdue_days: int = 3
    red_after_yellow_cards: int = 3
    deem_after_urge_days: int = 5


class AdapterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_ADAPTER_", extra="ignore")

    department: str = Field(..., pattern=r"^[a-z0-9_]+$")
    connector: Literal["http"] = "http"
    connector_url: str = "http://127.0.0.1:8201"
    connector_timeout_seconds: float = 30.0
    attempts: int = 30  # with the backoff capped at 5 minutes: about two hours before giving up
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 300.0
    concurrency: int = 64
    poll_seconds: float = 30.0  # how often to ask again about work the department is still deciding
