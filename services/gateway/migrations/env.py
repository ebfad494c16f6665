"""Alembic environment of the gateway's own schema, from its own settings; shared/migrations.py does the work."""

from services.gateway.adapters.orm import SCHEMA
from services.gateway.settings import GatewaySettings
from shared.migrations import run_env

run_env(SCHEMA, lambda: GatewaySettings().database("gateway"))
