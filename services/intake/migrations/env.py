"""Alembic environment of the intake's own schema, from its own settings; shared/migrations.py does the work."""

from services.intake.adapters.orm import SCHEMA
from services.intake.settings import IntakeSettings
from shared.migrations import run_env

run_env(SCHEMA, lambda: IntakeSettings().database("intake"))
