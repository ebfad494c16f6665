"""Acting on a stored case: one transaction per action, refusals published and nothing changed,
and a second application after rectification linked to the first."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from services.intake.adapters.case_book import CaseBook, ConcurrentUpdate
from services.intake.adapters.orm import SCHEMA, CaseRecord
from services.intake.domain.replay import ReplayError, replay
from services.intake.service_layer.act import HTTP_ACTIONS, ActionNotAllowed, CaseActions, Proof
from services.intake.service_layer.idempotency import IdempotencyConflict
from services.intake.service_layer.submit import SubmitCase
from shared.contracts import (
    Accept,
    ActionRefused,
    Approve,
    CaseState,
    CaseSubmitted,
    CloudEvent,
    DecideExtension,
    DeemedApproval,
    PartActionRecorded,
    PartState,
    RefusalRule,
    Refuse,
    RequestExtension,
    RequestSupplement,
    RequireRectification,
    Resume,
    SupplementItem,
    Suspend,
    SuspensionKind,
)
from shared.messaging.outbox import Outbox, OutboxRow
from shared.messaging.processed import mark_processed
from shared.personal_data import query_code_digest
from shared.signing import signed_event
from shared.topics import Topics
from tests.builders import CATALOG, acted, application
from tests.keys import registered_keys
from tests.servers import MakeSessions

DEPARTMENTS = ("market", "fire", "tax")
TOPICS = Topics("test")


@pytest.fixture
async def desk(make_sessions: MakeSessions) -> tuple[SubmitCase, CaseActions]:
    sessions = await make_sessions(SCHEMA)
    outbox = Outbox("/test/intake", TOPICS)
    return SubmitCase(sessions, CATALOG, outbox, lambda: None), CaseActions(sessions, outbox, lambda: None)


async def events(actions: CaseActions, topic: str = TOPICS.case_events) -> list[CloudEvent]:
    """What the case published on a topic."""
    async with actions.sessions() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.topic == topic).order_by(OutboxRow.id))
        return [CloudEvent.from_bytes(r.payload) for r in rows]


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
    told = [e.payload() for e in await events(actions, TOPICS.feedback("fire"))]
    assert told == refusals  # the department is told on its own feedback topic


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


async def test_another_action_under_a_used_key_is_a_conflict_and_the_same_key_on_another_case_is_not(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    first, second = [(await submit(application(), None)).case.case_id for _ in range(2)]
    await actions.department_acts(first, "tax", "t-01", Accept(), idempotency_key="k1")
    with pytest.raises(IdempotencyConflict, match="another action on this work order"):
        await actions.department_acts(first, "tax", "t-01", Refuse(reason="不属本部门", legal_basis="某法"), idempotency_key="k1")
    other = await actions.department_acts(second, "tax", "t-01", Accept(), idempotency_key="k1")  # another work order
    assert other.part_of("tax").state is PartState.PRE_ACCEPTED


async def test_a_key_recorded_by_release_0_1_0_still_does_nothing_twice(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id
    async with actions.sessions() as session, session.begin():
        await mark_processed(session, HTTP_ACTIONS, ["tax:k-old"])  # as 0.1.0 stored it, before the upgrade
    again = await actions.department_acts(case_id, "tax", "t-01", Accept(), idempotency_key="k-old")
    assert again.part_of("tax").state is PartState.FORWARDED  # the retry after the upgrade did nothing


async def test_a_batch_of_actions_on_many_cases_is_saved_at_once(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_ids = [(await submit(application(), None)).case.case_id for _ in range(3)]
    batch = [acted(c, d, Accept(), staff_id=f"{d}-01") for c in case_ids for d in DEPARTMENTS]
    async with actions.sessions() as session, session.begin():
        for department in DEPARTMENTS:  # PostgreSQL once refused this as a concurrent update
            await actions.record(session, [a for a in batch if a.department == department], sender=department)
    assert [(await actions.read(c)).state for c in case_ids] == [CaseState.HANDLING] * 3


async def test_a_case_saved_by_another_writer_in_between_is_not_overwritten(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id

    async def save_after_another_writer() -> None:
        async with actions.sessions() as session, session.begin():
            book = CaseBook(session, actions.outbox)
            case = await book.get(case_id)
            assert case is not None
            await session.execute(
                update(CaseRecord).where(CaseRecord.case_id == case_id).values(version=CaseRecord.version + 1)
            )  # another writer got there first
            book.save(case)
            await book.flush()

    with pytest.raises(ConcurrentUpdate, match=case_id):
        await save_after_another_writer()


async def test_an_action_on_one_departments_topic_naming_another_is_refused_as_impersonation(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id
    forged = acted(case_id, "fire", Accept())
    async with actions.sessions() as session, session.begin():
        await actions.record(session, [forged], sender="tax")  # it came on tax's own actions topic
    case = await actions.read(case_id)
    assert case is not None
    assert case.part_of("fire").state is PartState.FORWARDED  # nothing changed
    refusals = [e.payload() for e in await events(actions) if e.type == ActionRefused.event_type]
    assert [(r.department, r.rule) for r in refusals] == [("tax", RefusalRule.IMPERSONATION)]  # type: ignore[attr-defined]
    assert [e.payload() for e in await events(actions, TOPICS.feedback("tax"))] == refusals  # tax is told, not fire


async def test_a_deemed_approval_from_a_departments_own_topic_is_refused(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id
    for dept in DEPARTMENTS:
        await actions.department_acts(case_id, dept, f"{dept}-01", Accept())
    now = datetime.now(UTC)
    deemed = DeemedApproval(document_number="默许-1", deadline=now, urged_at=[now], silent_since=now)
    forged = acted(case_id, "tax", deemed, staff_id="supervision")
    async with actions.sessions() as session, session.begin():
        await actions.record(session, [forged], sender="tax")
    case = await actions.read(case_id)
    assert case is not None
    assert case.part_of("tax").state is PartState.HANDLING
    refusals = [e.payload() for e in await events(actions) if e.type == ActionRefused.event_type]
    assert [(r.department, r.rule, r.action_kind) for r in refusals] == [("tax", RefusalRule.IMPERSONATION, "deemed_approve")]  # type: ignore[attr-defined]


async def test_an_action_whose_signature_the_center_refuses_changes_nothing_and_is_told_to_its_sender(desk) -> None:  # type: ignore[no-untyped-def]
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id
    unsigned = acted(case_id, "tax", Accept())
    async with actions.sessions() as session, session.begin():
        await actions.record(session, [unsigned], sender="tax", proofs=[Proof(refusal="未签名 (the action is not signed)")])
    case = await actions.read(case_id)
    assert case is not None
    assert case.part_of("tax").state is PartState.FORWARDED
    refusals = [e.payload() for e in await events(actions, TOPICS.feedback("tax"))]
    assert [(r.rule, r.reason) for r in refusals] == [(RefusalRule.UNSIGNED, "未签名 (the action is not signed)")]  # type: ignore[attr-defined]


async def test_a_decision_keeps_the_time_the_department_signed_and_its_signed_event(desk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The part records the department's signed time, not Lianban's receipt; the event that announces it
    carries both and the department's signed action as sent, for supervision's record."""
    submit, actions = desk
    signers, registry = registered_keys(tmp_path, "tax")
    case_id = (await submit(application(), None)).case.case_id
    for dept in DEPARTMENTS:
        await actions.department_acts(case_id, dept, f"{dept}-01", Accept())
    signed_at = datetime.now(UTC) - timedelta(hours=3)  # signed inside the department, three hours on the way
    decision = acted(case_id, "tax", Approve(document_number="税-2026-1"), at=signed_at)
    raw = signers["tax"].sign(CloudEvent.wrap(decision, source="/tax", subject=case_id).to_bytes())
    async with actions.sessions() as session, session.begin():
        await actions.record(session, [decision], sender="tax", proofs=[Proof(signed_event(raw), registry.refusal(raw, "tax"))])
    case = await actions.read(case_id)
    assert case is not None
    assert (case.part_of("tax").state, case.part_of("tax").decided_at) == (PartState.APPROVED, signed_at)
    recorded = [e.payload() for e in await events(actions) if e.type == PartActionRecorded.event_type][-1]
    assert isinstance(recorded, PartActionRecorded)
    assert recorded.acted_at == signed_at
    assert recorded.received_at is not None
    assert timedelta(hours=3) <= recorded.received_at - recorded.acted_at < timedelta(hours=3, minutes=1)
    assert recorded.signed_event == json.loads(raw)


async def test_replaying_a_cases_published_events_gives_the_state_intake_stored(desk) -> None:  # type: ignore[no-untyped-def]
    """The events are the whole record: a supplement round, a suspension, an extension, decisions at the
    departments' signed times, delivery and evaluation, replayed through the rules, give the stored case."""
    submit, actions = desk
    case_id = (await submit(application(), None)).case.case_id
    missing = RequestSupplement(items=[SupplementItem(material="场所消防安全制度", reason="缺少疏散预案章节")])
    await actions.department_acts(case_id, "fire", "F-01", missing)
    for dept in ("market", "tax"):
        await actions.department_acts(case_id, dept, f"{dept}-01", Accept())
    await actions.supplement(case_id, {"fire": {"场所消防安全制度": "doc://fire/2"}}, "S-0107")
    await actions.department_acts(case_id, "fire", "F-01", Accept())
    signed_at = datetime.now(UTC) - timedelta(minutes=30)
    on_the_way = [
        acted(
            case_id,
            "fire",
            Suspend(suspension_kind=SuspensionKind.INSPECTION_TESTING, applicant_notified_on=date(2026, 11, 30)),
            at=signed_at,
        ),
        acted(case_id, "fire", Resume(), at=signed_at + timedelta(minutes=5)),
        acted(case_id, "market", RequestExtension(days=5, reason="需现场核查"), at=signed_at),
        acted(case_id, "market", DecideExtension(approved=True, approver_name="王局", approver_title="局长"), at=signed_at),
    ]
    for action in on_the_way:
        async with actions.sessions() as session, session.begin():
            await actions.record(session, [action], sender=action.department)
    for dept in DEPARTMENTS:
        decision = acted(case_id, dept, Approve(document_number=f"{dept}-2026-1"), at=signed_at + timedelta(minutes=10))
        async with actions.sessions() as session, session.begin():
            await actions.record(session, [decision], sender=dept)
    await actions.deliver(case_id, "窗口领取", "S-0107")
    await actions.evaluate(case_id, 5, None)

    async with actions.sessions() as session:
        rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        published = [e.payload() for e in map(CloudEvent.from_bytes, (r.payload for r in rows)) if e.subject == case_id]
    stored = await actions.read(case_id)
    assert stored is not None
    assert stored.state is CaseState.CONCLUDED
    assert stored.evaluation is not None
    replayed = replay(published)
    assert replayed.model_dump(exclude={"query_code"}) == stored.model_dump(exclude={"query_code"})
    opened = next(e for e in published if isinstance(e, CaseSubmitted))
    assert opened.query_code_sha256 == query_code_digest(case_id, stored.query_code)  # the code itself never travels
    with pytest.raises(ReplayError, match="refused on replay"):  # an event the record cannot have held
        replay([*published, published[-1]])
