"""Alembic environment of the department adapter's own schema, from its own settings; shared/migrations.py does the work."""

from services.department_adapter.adapters.orm import SCHEMA
from services.department_adapter.settings import AdapterSettings
from shared.migrations import run_env

run_env(SCHEMA, lambda: (s := AdapterSettings()).database(f"adapter-{s.department}"))
