"""Alembic environment of the department adapter's own schema; shared/migrations.py does the work."""

from shared.migrations import run_env

run_env()
