"""Fixtures every suite shares: a real PostgreSQL server, and each database test on both dialects.

The server is, in order: the one named by LIANBAN_TEST_POSTGRES_URL; a testcontainers PostgreSQL
where a Docker engine answers; otherwise a local server from Debian's package
(deploy/postgres_local.py). If none can be had the tests fail: they never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.postgres_local import LocalPostgres, create_database
from shared.db import MessagingBase, SessionFactory, make_engine, session_factory
from shared.migrations import Schema, migrate
from tests.servers import MakeSessions, docker_available

DIALECTS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL of a PostgreSQL server where tests may create databases."""
    if os.environ.get("LIANBAN_TEST_POSTGRES_URL"):
        yield os.environ["LIANBAN_TEST_POSTGRES_URL"]
    elif docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as container:
            yield container.get_connection_url()
    else:
        server = LocalPostgres(durable=False).start()
        try:
            yield server.url("postgres")
        finally:
            server.stop()


@pytest.fixture(params=DIALECTS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    server: str = request.getfixturevalue("postgres_server")
    return await create_database(server, f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def make_sessions(engine: AsyncEngine) -> MakeSessions:
    """Sessions on the test's database, with a service's schema migrated to head (or, for a test's
    own tables, those tables and the messaging ones)."""

    async def make(schema: Schema | MetaData) -> SessionFactory:
        if isinstance(schema, Schema):
            await migrate(engine, schema)
        else:
            async with engine.begin() as connection:
                for metadata in (MessagingBase.metadata, schema):
                    await connection.run_sync(metadata.create_all)
        return session_factory(engine)

    return make
