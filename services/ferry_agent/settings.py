"""The ferry agent's settings (``LIANBAN_FERRY_*``): it runs on the department's private network, so it
shares nothing with the center's processes but the bundle format and the key registry."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(".run")


class FerrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANBAN_FERRY_", extra="ignore")

    department: str = Field(..., pattern=r"^[a-z0-9_]+$", description="The department this agent serves.")
    center: str = Field(
        "demo",
        pattern=r"^[a-z0-9_-]+$",
        validation_alias=AliasChoices("LIANBAN_FERRY_CENTER", "LIANBAN_CENTER"),
        description="The center whose bundles it reads.",
    )
    incoming: Path = Field(DATA_DIR / "ferry" / "to-department", description="Where the center's bundles arrive.")
    outgoing: Path = Field(DATA_DIR / "ferry" / "to-center", description="Where the agent writes its bundles for the center.")
    database_url: str = Field("", description="The agent's own state; empty: an SQLite file in .run/.")
    system_url: str = Field("http://127.0.0.1:8201", description="The department system's REST API (docs/bridge-ferry.md).")
    system_timeout_seconds: float = 30.0
    intake_url: str = Field("", description="Against which a work order's file URLs resolve for the department system.")
    signing_key: Path = Field(..., description="The agent's Ed25519 private key (PEM), registered for the department.")
    signing_key_id: str = Field(..., description="Its id in the center's key registry.")
    key_registry: Path = Field(..., description="The registry with both ends' keys of this ferry.")
    poll_seconds: float = Field(1.0, description="How often the incoming directory is read.")
    bundle_seconds: float = Field(2.0, description="How often answers waiting are written out as a bundle.")
    ask_again_seconds: float = Field(30.0, description="How soon work the department is still deciding is asked about again.")
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 300.0
    concurrency: int = Field(32, description="Calls to the department system in flight.")
    host: str = "127.0.0.1"
    port: int = Field(0, description="GET /health on this port; 0: none.")
    log_level: str = Field("INFO", validation_alias="LIANBAN_LOG_LEVEL")
    log_format: Literal["text", "json"] = Field("text", validation_alias="LIANBAN_LOG_FORMAT")

    def database(self) -> str:
        if self.database_url:
            return self.database_url
        DATA_DIR.mkdir(exist_ok=True)
        return f"sqlite+aiosqlite:///{DATA_DIR / f'ferry-{self.department}.db'}"
