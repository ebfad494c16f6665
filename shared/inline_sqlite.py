"""SQLite for SQLAlchemy's aiosqlite dialect, run on the event loop's own thread.

aiosqlite runs every call on a worker thread and wakes the loop for each result: four round trips
per statement (cursor, execute, fetch, close), about 50 µs of CPU each, more than most of Lianban's
statements cost in SQLite itself. A service keeps one SQLite connection (shared/db.py: sessions queue
for it), so nothing in the process waits on another connection's lock, and its statements are short
and indexed: run inline, they cost what SQLite costs. Each statement still gives the loop a turn first
(other requests and consumers are not held up by a long transaction). Only this process writes its
file; another process holding the lock (an operator's CLI) is waited for up to the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class Cursor:
    """aiosqlite's cursor API over a sqlite3 cursor, every call done when it returns."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        await asyncio.sleep(0)  # let others run between statements, as a thread's round trip did
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> Cursor:
        await asyncio.sleep(0)
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Calls:
    """Where the dialect queues a call for aiosqlite's thread (to set the isolation level): done at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class Connection:
    """aiosqlite's connection API (what SQLAlchemy's dialect uses of it) over a sqlite3 connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # None once closed, as aiosqlite's
        self._tx = _Calls()

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor())

    async def executescript(self, sql: str) -> None:
        """Many statements at once (a schema dump, as SQLite's own client loads it)."""
        self._conn.executescript(sql)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


async def connect(database: str, **kwargs: Any) -> Connection:
    """For `connect_args={"async_creator_fn": connect}`: the dialect's arguments, as sqlite3 takes them."""
    kwargs["check_same_thread"] = False  # an engine disposed from another loop's thread closes it there
    return Connection(sqlite3.connect(database, **kwargs))
