"""Each service owns its schema: Alembic migrations in `services/<service>/migrations/`, applied when
the service starts (and by `lianban db upgrade`), so a column added in a release reaches every
existing database.

A database made by release 0.1.0 (tables created directly, no `alembic_version`) is adopted: it
is stamped with the first revision, which is exactly that schema, and upgraded from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import MessagingBase, UtcDateTime, make_engine
from shared.messaging import outbox, processed  # noqa: F401 - their tables belong to every schema

BASELINE = "0001"  # the schema of release 0.1.0, created before migrations existed


@dataclass(frozen=True)
class Schema:
    """A service's tables (its own and the messaging ones) and the migrations that build them."""

    name: str
    metadata: MetaData
    migrations: Path

    @property
    def metadatas(self) -> list[MetaData]:
        return [MessagingBase.metadata, self.metadata]

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.migrations))
        config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        config.attributes["connection"] = connection
        return config

    def head(self) -> str:
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        assert head is not None
        return head


async def migrate(engine: AsyncEngine, schema: Schema) -> None:
    """Bring the database to the newest revision. On PostgreSQL an advisory lock makes replicas of a
    service that start together migrate one after the other."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": schema.name})
        await connection.run_sync(_upgrade, schema)


def _upgrade(connection: Connection, schema: Schema) -> None:
    config = schema.config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "outbox" in tables:
        command.stamp(config, BASELINE)  # made by release 0.1.0
    command.upgrade(config, "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def drift(engine: AsyncEngine, schema: Schema) -> list[Any]:
    """What autogenerate would write: the differences between the models and the migrated database."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts=_options(c)),
                schema.metadatas,  # type: ignore[arg-type]  # a list works, as in env.py
            )
        )


def run_env(schema: Schema, database: Callable[[], str]) -> None:
    """The body of every service's `migrations/env.py`. Run by `migrate` (the service's start, `lianban
    db`), it uses the connection passed in; run by the Alembic command line (`alembic -n intake upgrade
    head`), it opens the database the service's own settings name."""
    from alembic import context

    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        _run(context, schema, connection)
        return

    async def from_settings() -> None:
        engine = make_engine(database())
        try:
            async with engine.begin() as opened:
                await opened.run_sync(lambda c: _run(context, schema, c))
        finally:
            await engine.dispose()

    asyncio.run(from_settings())


def _run(context: Any, schema: Schema, connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=schema.metadatas, **_options(connection))
    with context.begin_transaction():
        context.run_migrations()


def _options(connection: Connection) -> dict[str, Any]:
    return {"render_as_batch": connection.dialect.name == "sqlite", "compare_type": True, "render_item": _render}


def _render(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations stay free of application imports: our aware datetime is stored as DateTime(timezone=True)."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False
