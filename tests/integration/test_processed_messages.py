"""Idempotent consumption's record: a consumer claims the ids of a batch, and gets back those it had not
processed; another consumer's record is its own; two claiming the same id at once, one gets it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import MetaData, text

from shared.db import SessionFactory, autocommit
from shared.messaging.processed import already_processed, claim
from tests.servers import MakeSessions


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_claim_returns_what_was_not_processed_and_marks_it(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(MetaData())
    async with sessions() as session, session.begin():
        assert await claim(session, "gateway", ["e1", "e2"]) == {"e1", "e2"}
    async with sessions() as session, session.begin():
        assert await claim(session, "gateway", ["e2", "e3", "e1"]) == {"e3"}  # a redelivered batch, one new event
        assert await claim(session, "supervision", ["e1"]) == {"e1"}  # another consumer's record
        assert await claim(session, "gateway", []) == set()
    async with sessions() as session:
        assert await already_processed(session, "gateway", ["e1", "e2", "e3", "e4"]) == {"e1", "e2", "e3"}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_claim_rolled_back_leaves_the_ids_unprocessed(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(MetaData())
    async with sessions() as session:
        transaction = await session.begin()
        assert await claim(session, "gateway", ["e1"]) == {"e1"}
        await transaction.rollback()  # the batch failed to apply
    async with sessions() as session, session.begin():
        assert await claim(session, "gateway", ["e1"]) == {"e1"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_claiming_the_same_event_at_once_apply_it_once(make_sessions: MakeSessions) -> None:
    sessions = await make_sessions(MetaData())
    first_claimed = asyncio.Event()

    async def first() -> set[str]:
        async with sessions() as session, session.begin():
            claimed = await claim(session, "gateway", ["e1", "e2"])
            first_claimed.set()
            await waiting_for_a_lock(sessions)  # the other replica's claim is blocked on this transaction's
            return claimed

    async def second() -> set[str]:
        await first_claimed.wait()
        async with sessions() as session, session.begin():
            return await claim(session, "gateway", ["e2", "e3"])

    claimed = await asyncio.gather(first(), second())
    assert list(claimed) == [{"e1", "e2"}, {"e3"}]


async def waiting_for_a_lock(sessions: SessionFactory) -> None:
    """Until a backend of this database waits for a lock (within 10 s)."""
    for _ in range(200):
        async with autocommit(sessions) as session:
            waiting = await session.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no claim waited for the first replica's transaction")
