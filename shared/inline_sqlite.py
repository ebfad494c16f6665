"""SQLite for SQLAlchemy's aiosqlite dialect, run on the event loop's own thread.

aiosqlite runs every call on a worker thread and wakes the loop for each result: four round trips
per statement (cursor, execute, fetch, close), about 50 µs of CPU each, more than most of Lianban's
statements cost in SQLite itself. A service keeps one SQLite connection (shared/db.py: sessions queue
for it), so nothing in the process waits on another connection's lock, and its statements are short
and indexed: run inline, they cost what SQLite costs. Each statement still gives the loop a turn first
(other requests and consumers are not held up by a long transaction). Only this process writes its
file; another process holding the lock (an operator's CLI) is waited for up to the busy timeout.

Checkpoints, which copy the write-ahead log into the database file and sync both, run on a thread of
their own (`Checkpoints`): left to SQLite, the commit that fills the log runs one on the loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)


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

    def __init__(self, connection: sqlite3.Connection, checkpoints: Checkpoints | None = None) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # None once closed, as aiosqlite's
        self._tx = _Calls()
        self._checkpoints = checkpoints

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
            if self._checkpoints:
                self._checkpoints.stop()
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


class Checkpoints:
    """The write-ahead log copied into the database file every `seconds`, on a thread with a connection of
    its own. A passive checkpoint waits for no reader or writer, and the thread lets go of the GIL while
    SQLite copies and syncs: measured by `make bench-supervision`, the commits of a burst had paid for a
    checkpoint every few batches, tens of milliseconds each on the loop's thread. SQLite's own checkpoint
    (`wal_autocheckpoint`, shared/db.py) stays as the backstop for a log that grows faster than this."""

    def __init__(self, database: str, *, uri: bool = False, seconds: float = 1.0) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(database, uri, seconds), name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def _run(self, database: str, uri: bool, seconds: float) -> None:
        try:
            connection = sqlite3.connect(database, uri=uri)
        except sqlite3.Error as exc:
            log.warning("no checkpoint thread for %s (%s): SQLite's own checkpoints remain", database, exc)
            return
        try:
            while not self._stopping.wait(seconds):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy with another checkpoint, say: the next one catches up
                    log.debug("checkpoint skipped: %s", exc)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)


def _in_memory(database: str) -> bool:
    return database == "" or ":memory:" in database or "mode=memory" in database


async def connect(database: str, **kwargs: Any) -> Connection:
    """For `connect_args={"async_creator_fn": connect}`: the dialect's arguments, as sqlite3 takes them."""
    kwargs["check_same_thread"] = False  # an engine disposed from another loop's thread closes it there
    connection = sqlite3.connect(database, **kwargs)
    checkpoints = None if _in_memory(database) else Checkpoints(database, uri=bool(kwargs.get("uri")))
    return Connection(connection, checkpoints)
