"""Acting on a stored case: one transaction per action, refusals published and nothing changed,
and a second application after rectification linked to the first."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from services.intake.adapters.orm import Base
from services.intake.service_layer.act import ActionNotAllowed, CaseActions
from services.intake.service_layer.submit import SubmitCase
from shared.contracts import Accept, ActionRefused, Approve, CaseState, CaseSubmitted, CloudEvent, RequireRectification
from shared.messaging.outbox import Outbox, OutboxRow
from shared.topics import Topics
from tests.unit.cases import CATALOG
from tests.unit.test_submit_case import application

DEPARTMENTS = ("market", "fire", "tax")


@pytest.fixture
async def desk(tmp_path: Path) -> tuple[SubmitCase, CaseActions]:
    from tests.unit.helpers import sqlite_sessions

    sessions = await sqlite_sessions(tmp_path, Base.metadata)
    outbox, topics = Outbox("/test/intake"), Topics("test")
    return (SubmitCase(sessions, CATALOG, outbox, topics, lambda: None),
            CaseActions(sessions, outbox, topics, lambda: None))


async def events(actions: CaseActions) -> list[CloudEvent]:
    async with actions.sessions() as session:
        return [CloudEvent.from_bytes(r.payload) for r in await session.scalars(select(OutboxRow).order_by(OutboxRow.id))]


async def test_a_refused_action_is_published_for_supervision_and_changes_nothing(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id
    with pytest.raises(ActionNotAllowed, match="not accepted yet"):
        await actions.department_acts(case_id, "fire", "F-01", Approve(document_number="F-1"))
    case = await actions.read(case_id)
    assert case is not None
    assert case.state is CaseState.PRE_REVIEW
    refusals = [e.payload() for e in await events(actions) if e.type == ActionRefused.event_type]
    assert [(r.department, r.staff_id, r.action_kind) for r in refusals] == [("fire", "F-01", "approve")]  # type: ignore[attr-defined]


async def test_a_second_application_after_rectification_is_linked_to_the_first(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    first = (await submit(application(), None)).case.case_id
    for dept in DEPARTMENTS:
        await actions.department_acts(first, dept, f"{dept}-01", Accept())
    await actions.department_acts(first, "market", "m-01", Approve(document_number="JY-1"))
    await actions.department_acts(first, "tax", "t-01", Approve(document_number="TAX-1"))
    concluded = await actions.department_acts(first, "fire", "f-01", RequireRectification(items=["清理疏散通道"]))
    assert concluded.outcome == "rectification_required"

    second = await submit(application(previous_case_id=first), None)
    assert second.case.previous_case_id == first
    submitted = [e.payload() for e in await events(actions) if e.type == CaseSubmitted.event_type]
    assert [s.previous_case_id for s in submitted] == [None, first]  # type: ignore[attr-defined]


async def test_an_action_retried_with_the_same_key_is_done_once(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id
    for dept in DEPARTMENTS:
        await actions.department_acts(case_id, dept, f"{dept}-01", Accept())
    first = await actions.department_acts(case_id, "tax", "t-01", Approve(document_number="T-1"), idempotency_key="k9")
    again = await actions.department_acts(case_id, "tax", "t-01", Approve(document_number="T-1"), idempotency_key="k9")
    assert again == first
    assert [e.type for e in await events(actions)].count(ActionRefused.event_type) == 0
