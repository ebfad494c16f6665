"""SQLite on the event loop's thread (shared/inline_sqlite.py): what the services' databases need of it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.db import make_engine, session_factory


async def test_a_long_transaction_lets_the_loop_serve_others_between_its_statements(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    sessions = session_factory(engine)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    turns = 0

    async def elsewhere() -> None:  # a request or a consumer of the same process
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(elsewhere())
    await asyncio.sleep(0)
    async with sessions() as session, session.begin():
        before = turns
        for n in range(200):
            await session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        during = turns - before
    other.cancel()
    assert during >= 200  # a turn for the others before each statement
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM t")) == 200
    await engine.dispose()


async def test_a_failed_transaction_leaves_nothing_and_the_connection_serves_the_next(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'two.db'}")
    sessions = session_factory(engine)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))

    async def the_same_row_twice() -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (n) VALUES (1)"))
            await session.execute(text("INSERT INTO t (n) VALUES (1)"))

    with pytest.raises(IntegrityError):
        await the_same_row_twice()
    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO t (n) VALUES (2)"))
    async with sessions() as session:
        assert list(await session.scalars(text("SELECT n FROM t"))) == [2]
    await engine.dispose()


async def test_the_log_is_checkpointed_by_a_thread_of_its_own_until_the_engine_is_disposed(tmp_path: Path) -> None:
    database = tmp_path / "three.db"
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, payload BLOB)"))
        for n in range(100):  # far below SQLite's own threshold (the backstop in shared/db.py)
            await connection.execute(text("INSERT INTO t VALUES (:n, zeroblob(4000))"), {"n": n})
    assert database.stat().st_size < 100 * 4000  # the rows are in the log, not yet in the file
    await asyncio.sleep(1.5)
    assert database.stat().st_size > 100 * 4000  # copied into the database file
    assert "sqlite-checkpoints" in {t.name for t in threading.enumerate()}
    await engine.dispose()
    assert "sqlite-checkpoints" not in {t.name for t in threading.enumerate()}
