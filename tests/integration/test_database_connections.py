"""A service's connections to its PostgreSQL: a pooled connection the server dropped while it lay idle is
replaced before anyone uses it, and the pollers' reads hold no transaction open."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import db
from shared.db import autocommit, make_engine, plans_kept, session_factory
from tests.servers import MakeSessions

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def test_a_connection_dropped_while_idle_is_replaced_unnoticed(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.05)
    sessions = session_factory(engine)
    async with sessions() as session:
        first = await session.scalar(text("SELECT pg_backend_pid()"))
    await asyncio.sleep(0.1)  # idle in the pool longer than the window
    await terminate(engine, first)

    async with sessions() as session:  # no error: the dead connection was pinged and replaced
        second = await session.scalar(text("SELECT pg_backend_pid()"))
    assert second not in (None, first)


async def test_a_connection_used_a_moment_ago_is_not_pinged(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window is what spares a busy service three round trips a session: a connection back in the pool for
    less than it is handed out as it is."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60)
    sessions = session_factory(engine)
    async with sessions() as session:
        first = await session.scalar(text("SELECT pg_backend_pid()"))
    await terminate(engine, first)

    with pytest.raises(DBAPIError) as failed:  # not pinged: the statement finds the connection gone
        async with sessions() as session:
            await session.scalar(text("SELECT 1"))
    assert failed.value.connection_invalidated
    async with sessions() as session:  # and the pool replaced it: the next session works
        assert await session.scalar(text("SELECT 1")) == 1


async def terminate(engine: AsyncEngine, pid: int | None) -> None:
    """The server ends a backend, as a restart or an idle timeout in between would (asked on a connection of another
    pool: this one would hand out the very connection it ends)."""
    admin = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        async with admin.begin() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()
    await asyncio.sleep(0.1)


async def test_a_read_holds_no_transaction_open(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(MetaData())
    async with autocommit(sessions) as session:
        backend = await session.scalar(text("SELECT pg_backend_pid()"))
        began = await session.scalar(text("SELECT now()"))  # the transaction's start: each statement its own
        await asyncio.sleep(0.05)
        again = await session.scalar(text("SELECT now()"))
    assert again > began

    async with sessions() as session:  # the same connection, back in a transaction from its first statement
        assert await session.scalar(text("SELECT pg_backend_pid()")) == backend
        began = await session.scalar(text("SELECT now()"))
        await asyncio.sleep(0.05)
        assert await session.scalar(text("SELECT now()")) == began
        assert await session.scalar(text("SHOW transaction_isolation")) == "read committed"


async def test_plans_kept_reuses_a_plan_in_its_transaction_only(make_sessions: MakeSessions) -> None:
    """A burst's writes reuse their plan; every other transaction still plans each execution for the tables as they are."""
    sessions = await make_sessions(MetaData())
    insert = text("INSERT INTO processed_messages (consumer, message_id) VALUES (:consumer, :id)")

    async def plans() -> tuple[int, int]:
        async with sessions() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                        " WHERE statement LIKE 'INSERT INTO processed_messages%'"
                    )
                )
            ).one()
            return row[0], row[1]

    async with sessions() as session, session.begin():
        await plans_kept(session)
        assert await session.scalar(text("SHOW plan_cache_mode")) == "auto"
        await session.execute(insert, [{"consumer": "c", "id": f"kept-{n}"} for n in range(20)])
    generic, custom = await plans()
    assert generic >= 14  # planned anew the first five times, then once (PostgreSQL's rule), reused since
    assert custom <= 6

    async with sessions() as session:
        transaction = await session.begin()
        await plans_kept(session)
        await transaction.rollback()  # a failed batch: the setting ends with it too
    async with sessions() as session, session.begin():  # the same connection: the pool hands out the one used last
        assert await session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
        await session.execute(insert, [{"consumer": "c", "id": f"planned-{n}"} for n in range(10)])
    assert await plans() == (generic, custom + 10)  # each execution planned for the table as it is
