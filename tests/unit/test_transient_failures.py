"""What counts as a transient failure (the batch is delivered again) and what marks the message."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.messaging.consumer import TransientError, transient


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["40P01", "40001", "55P03", "57014", "57P03", "53100", "25006"])
def test_postgresql_asking_to_try_again_is_transient(sqlstate: str) -> None:
    assert transient(DBAPIError("UPDATE cases", {}, PgError(sqlstate)))


def test_a_broken_rule_is_about_the_message() -> None:
    assert not transient(IntegrityError("INSERT", {}, PgError("23505")))
    assert not transient(ValueError("bad data"))


def test_our_own_and_the_networks_are_transient() -> None:
    assert transient(TransientError("changed concurrently"))
    assert transient(ConnectionError())
