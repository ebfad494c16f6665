"""Alembic environment of the supervision's own schema, from its own settings; shared/migrations.py does the work."""

from services.supervision.adapters.orm import SCHEMA
from services.supervision.settings import SupervisionSettings
from shared.migrations import run_env

run_env(SCHEMA, lambda: SupervisionSettings().database("supervision"))
