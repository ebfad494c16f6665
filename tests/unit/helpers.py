"""Small builders shared by unit tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import SessionFactory, create_schema, make_engine, session_factory

ENGINES: list[AsyncEngine] = []  # disposed after each test by conftest.py


async def sqlite_sessions(tmp_path: Path, metadata: MetaData) -> SessionFactory:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    ENGINES.append(engine)
    await create_schema(engine, metadata)
    return session_factory(engine)
