"""Database engines: SQLite by default, PostgreSQL in production; the code stays dialect-neutral."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from shared import inline_sqlite

SessionFactory = async_sessionmaker[AsyncSession]


class MessagingBase(DeclarativeBase):
    """Tables every service keeps beside its own: the outbox and the processed-message record."""

    metadata = MetaData()


POOL_SIZE = 10  # connections to a server database per process, unless configured (LIANBAN_<SERVICE>_DATABASE_POOL_SIZE)
# A pooled connection is tested before use only after it lay idle this long (HikariCP's `aliveBypassWindowMs`: one used
# a moment ago is alive). Testing at every checkout cost three round trips (asyncpg's ping is BEGIN, `;`, ROLLBACK) on
# every session: ~0.3 ms of the service's CPU and ~0.7 ms of waiting, ~27 times a case. A server that restarts under
# load fails the first statement on each connection it dropped; SQLAlchemy then replaces the whole pool, and the
# transaction is retried like any other failed one (consumers redeliver, relays and pollers go round again).
PING_AFTER_IDLE_SECONDS = 0.5

# Plans for the tables as they are now, every time: asyncpg prepares each statement once per connection, and
# PostgreSQL then keeps a generic plan made while a table was nearly empty. The duplicates check's, made on an empty
# processed_messages, looked the consumer up in the key's index and filtered every one of its rows for the ids: at
# 25,000 rows 19 ms a check instead of 1, growing with the table, until an autovacuum had the server plan again
# (tests/integration/test_query_plans.py). The setting needs PostgreSQL 12 or later; a PgBouncer in between must list
# it in `ignore_startup_parameters`.
_ASYNCPG_SETTINGS: dict[str, Any] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}


def make_engine(url: str, pool_size: int = POOL_SIZE, *, ours: bool = True) -> AsyncEngine:
    """A fixed pool: sessions beyond it wait for a connection. SQLite gets one: it writes one at a time anyway, and a
    read-then-write transaction on a second connection would fail with "database is locked" whenever another writer
    committed in between; its statements run on the event loop's thread (shared/inline_sqlite.py). A server gets
    `pool_size` and no overflow: overflow connections were opened for each burst above the pool and closed again on
    return (intake under 64 concurrent filings: 2-3 a second, each a new PostgreSQL backend and a SCRAM handshake,
    ~0.1 core of the server; the database bridge's dispatcher was 5 times slower with them).

    `ours`: a database of Lianban's own, not a department's intermediate database (given no server settings: its
    server may be a PostgreSQL-like one of another version)."""
    sqlite = url.startswith("sqlite")
    engine = create_async_engine(
        url,
        pool_size=1 if sqlite else pool_size,
        max_overflow=0,
        pool_timeout=60,
        pool_use_lifo=True,  # the connection used last is used next: the busy ones stay warm, the rest go idle
        hide_parameters=True,  # no applicant data in errors
        connect_args=_connect_args(url, ours),
        **JSON_CODEC,
    )
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """A connection that lay idle in the pool is pinged when taken out; a dead one is replaced (the pool tries again)."""
    pool, dialect = engine.sync_engine.pool, engine.dialect

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"an idle pooled connection is gone: {exc}") from exc


def _connect_args(url: str, ours: bool) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"async_creator_fn": inline_sqlite.connect}
    if ours and url.startswith("postgresql+asyncpg"):
        return _ASYNCPG_SETTINGS
    return {}


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# JSON columns (a case's document is written at every step) through orjson: several times faster than the standard library
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # checkpoints run on a thread of their own (shared/inline_sqlite.py); this is the backstop: 40 MiB of log, not 4
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def autocommit(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session outside any transaction, for reads and for a write that is one statement: on a server database each
    statement commits on its own (under READ COMMITTED a transaction gave a read no more than that), and the session
    costs no BEGIN and COMMIT or ROLLBACK round trips. The pollers and the outbox relay use one every few milliseconds
    under load. A write still ends with `session.commit()`: SQLite begins a transaction for it (not for a read); on
    a server database the commit has nothing left to do."""
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


async def plans_kept(session: AsyncSession) -> None:
    """For the rest of the transaction PostgreSQL reuses a repeated statement's plan (the connections otherwise plan
    each execution, `_ASYNCPG_SETTINGS`): planning every row of a burst of alerts was ~40 % of the server's work.
    Only inserts and updates by key may follow (a read could get a plan made for a table that has grown since);
    in a transaction only (`SET LOCAL`: ended with it, committed or not). Nothing on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_PLANS_KEPT)


_PLANS_KEPT = text("SET LOCAL plan_cache_mode = auto")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every dialect (SQLite alone would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; Lianban stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
