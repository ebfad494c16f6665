"""`make run`'s embedded defaults (an SQLite file per service) carry a case end to end too; the rest
of the end-to-end suite runs on PostgreSQL, the production path."""

from __future__ import annotations

import pytest

from deploy.launcher import System
from tests.e2e.api import new_applicant, reply_of, submit_restaurant

pytestmark = pytest.mark.e2e


def test_a_case_gets_its_one_reply_on_sqlite(embedded_system: System) -> None:
    case_id = submit_restaurant(embedded_system, new_applicant())
    reply = reply_of(embedded_system, case_id)["reply"]
    assert reply["outcome"] == "approved"
    assert sorted(p["department_name"] for p in reply["parts"]) == ["市场监督管理局", "消防救援支队", "税务局"]
    assert all((embedded_system.workdir / f"{name}.db").exists() for name in ("intake", "gateway", "supervision"))
