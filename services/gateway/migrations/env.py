"""Alembic environment of the gateway's own schema; shared/migrations.py does the work."""

from shared.migrations import run_env

run_env()
