"""PostgreSQL plans a service's statements for its tables as they are now, not as they were when a
connection first prepared them: the duplicates check, first run on an empty table, must still read the
index for the ids asked once the table holds thousands of rows."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.messaging.processed import already_processed, mark_processed
from tests.servers import MakeSessions

CONSUMER = "lianban-gateway"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_duplicates_check_reads_the_index_after_its_table_grew(
    make_sessions: MakeSessions, engine: AsyncEngine
) -> None:
    await make_sessions(MetaData())  # the messaging tables, empty
    asked = [f"new-{n}" for n in range(5)]
    async with engine.connect() as connection:  # one connection: the one that prepared the statement
        session = AsyncSession(bind=connection)
        for _ in range(10):  # on the empty table, more often than PostgreSQL needs to settle on a generic plan
            assert await already_processed(session, CONSUMER, asked) == set()
        await mark_processed(session, CONSUMER, [f"seen-{n}" for n in range(20_000)])
        await session.commit()

        prepared = await session.scalar(
            text(
                "SELECT name FROM pg_prepared_statements WHERE statement LIKE '%FROM processed_messages%'"
                " AND statement NOT LIKE '%pg_prepared_statements%'"  # not this query, prepared too
            )
        )
        assert prepared, "the duplicates check was prepared on this connection"
        values = ", ".join(f"'{v}'" for v in [CONSUMER, *asked])
        plan = "\n".join((await session.execute(text(f"EXPLAIN EXECUTE {prepared}({values})"))).scalars())
        await session.close()

    # the ids are looked up in the key's index; a plan kept from the empty table used the index for the consumer
    # alone and filtered every row of the consumer's (all of the table, in a service with one consumer)
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert conditions, plan
    assert "message_id" in conditions[0], plan
    assert "Filter" not in plan, plan
