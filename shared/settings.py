"""What every service's settings share. Each service has its own class in its `settings.py`,
read from its own environment prefix (``LIANBAN_INTAKE_``...).

Kafka and the center are shared by every process, so they use unprefixed variables
(``KAFKA_BOOTSTRAP_SERVERS``, ``LIANBAN_CENTER``) that one deployment sets once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.centers import CENTERS_FILE, Centers
from shared.db import POOL_SIZE
from shared.departments import DEPARTMENTS_FILE, Departments, load_departments

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


class AuthSettings(BaseSettings):
    """The center's identity provider (OpenID Connect): tokens are verified against its published keys."""

    model_config = SettingsConfigDict(env_prefix="LIANBAN_AUTH_", extra="ignore")

    issuer: str = Field(
        "",
        description="The issuer URL; its /.well-known/openid-configuration names the keys. Keycloak: "
        "http://<host>/realms/<realm>. `make run` sets its development issuer.",
    )
    audience: str = Field("lianban", description="What every token's `aud` must contain.")


class MaterialsSettings(BaseSettings):
    """Where the center keeps material files (shared/materials): one store every service of the center uses."""

    model_config = SettingsConfigDict(env_prefix="LIANBAN_MATERIALS_", extra="ignore")

    backend: Literal["filesystem", "s3"] = "filesystem"
    root: Path = Field(DATA_DIR / "materials", description="The files (filesystem), and where uploads are staged (both).")
    s3_endpoint: str = Field("", description="An S3-compatible endpoint (S3Proxy, MinIO, Ceph...); empty: AWS.")
    s3_bucket: str = "lianban-materials"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""


class ServiceSettings(BaseSettings):
    """What every service shares: its center, its broker, its own database."""

    model_config = SettingsConfigDict(extra="ignore")

    center: str = Field("demo", validation_alias="LIANBAN_CENTER", pattern=r"^[a-z0-9_-]+$")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    materials: MaterialsSettings = Field(default_factory=MaterialsSettings)
    database_url: str = ""
    database_pool_size: int = Field(
        POOL_SIZE, ge=1, le=200, description="Connections to a server database (PostgreSQL) this process keeps open."
    )
    host: str = "127.0.0.1"
    port: int = 0
    instance: str | None = Field(
        None,
        validation_alias="LIANBAN_INSTANCE",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="This process among the service's replicas, unique per replica: its consumers are then static "
        "group members and take their partitions back at once after a restart.",
    )
    departments_path: Path = Field(
        DEPARTMENTS_FILE,
        validation_alias="LIANBAN_DEPARTMENTS",
        description="The center's departments, one file every process of the center reads.",
    )
    key_registry: Path | None = Field(
        None,
        validation_alias="LIANBAN_KEY_REGISTRY",
        description="The center's key registry: the departments' registered public keys (shared/signing.py), one file "
        "intake checks actions against and supervision checks its record against.",
    )
    signing_key: Path | None = Field(None, description="This process's Ed25519 private key (PEM): it signs what it sends.")
    signing_key_id: str = Field("", description="The id the center's key registry knows the signing key by.")
    centers_path: Path = Field(
        CENTERS_FILE,
        validation_alias="LIANBAN_CENTERS",
        description="The centers that exchange cases (shared/centers.py); the same file at every center.",
    )
    center_keys: Path | None = Field(
        None,
        validation_alias="LIANBAN_CENTER_KEYS",
        description="The other centers' registered public keys (the key registry's format, by center code): exchange "
        "records are accepted only with the sending center's signature.",
    )
    center_signing_key: Path | None = Field(
        None, validation_alias="LIANBAN_CENTER_SIGNING_KEY", description="This center's Ed25519 private key (PEM)."
    )
    center_signing_key_id: str = Field("", validation_alias="LIANBAN_CENTER_SIGNING_KEY_ID")
    calendar_overrides: Path = Field(
        Path(__file__).parent / "calendar_overrides.json",
        validation_alias=AliasChoices("LIANBAN_CALENDAR_OVERRIDES", "LIANBAN_SUPERVISION_CALENDAR_OVERRIDES"),
        description="This center's working-day overrides (shared/workdays.py): later years, local decisions.",
    )
    max_body_bytes: int = Field(1_048_576, description="The largest request body taken (413 above it).")
    log_level: str = Field("INFO", validation_alias="LIANBAN_LOG_LEVEL", description="One level for every process.")
    log_format: Literal["text", "json"] = Field("text", validation_alias="LIANBAN_LOG_FORMAT")

    def departments(self) -> Departments:
        return load_departments(self.departments_path)

    def centers(self) -> Centers:
        return Centers.load(self.centers_path)

    def database(self, service: str) -> str:
        """The configured database, or an SQLite file of the service's own in this center."""
        if self.database_url:
            return self.database_url
        DATA_DIR.mkdir(exist_ok=True)
        return f"sqlite+aiosqlite:///{DATA_DIR / service}-{self.center}.db"
