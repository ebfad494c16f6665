"""Each service's schema is built by its migrations: a database of release 0.1.0 (made before
migrations existed) reaches the newest revision with its rows, and the models agree with the
migrations, so autogenerate has nothing to write."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.department_adapter.adapters.orm import SCHEMA as ADAPTER
from services.gateway.adapters.orm import SCHEMA as GATEWAY
from services.intake.adapters.orm import SCHEMA as INTAKE
from services.supervision.adapters.orm import SCHEMA as SUPERVISION
from shared.migrations import Schema, current_revision, drift, migrate

SCHEMAS = [INTAKE, GATEWAY, SUPERVISION, ADAPTER]
RELEASE_0_1_0 = Path(__file__).parents[1] / "fixtures" / "release-0.1.0"


async def run_script(engine: AsyncEngine, sql: str) -> None:
    """A schema dump as the database's own client would load it (many statements at once)."""
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        if engine.dialect.name == "sqlite":
            await driver.executescript(sql)  # type: ignore[union-attr]
        else:
            await driver.execute(sql)  # type: ignore[union-attr]
            await driver.execute("RESET ALL")  # type: ignore[union-attr]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
async def test_a_release_0_1_0_database_reaches_the_newest_revision_with_its_rows(engine: AsyncEngine, schema: Schema) -> None:
    await run_script(engine, (RELEASE_0_1_0 / f"{schema.name}.{engine.dialect.name}.sql").read_text())
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO processed_messages (consumer, message_id) VALUES ('c', 'm1')"))
        await connection.execute(
            text("INSERT INTO outbox (topic, key, payload, created_at) VALUES ('t', 'LB1', :p, CURRENT_TIMESTAMP)"), {"p": b"{}"}
        )
    assert await current_revision(engine) is None

    await migrate(engine, schema)

    assert await current_revision(engine) == schema.head()
    async with engine.connect() as connection:
        processed = (await connection.execute(text("SELECT consumer, message_id, processed_at FROM processed_messages"))).all()
        outbox = (await connection.execute(text("SELECT key, payload FROM outbox"))).all()
    assert [(c, m) for c, m, _ in processed] == [("c", "m1")]
    assert processed[0][2] is not None  # the new column, filled for the old row
    assert [(k, p) for k, p in outbox] == [("LB1", b"{}")]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
async def test_the_models_and_the_migrations_agree(engine: AsyncEngine, schema: Schema) -> None:
    await migrate(engine, schema)
    assert await drift(engine, schema) == []
    await migrate(engine, schema)  # a second start changes nothing
    assert await current_revision(engine) == schema.head()
