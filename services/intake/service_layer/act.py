"""Acting on a case: departments (over HTTP or through their adapters) and the lead window.

Each action runs in one transaction: load the case, let its state machine decide, save it and
queue the events. A refused action changes nothing and is published as `action.refused`, so
supervision sees it; over HTTP it becomes a 409 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.adapters.case_book import CaseBook, ConcurrentUpdate
from services.intake.adapters.orm import MaterialRecord
from services.intake.domain.exchange import Exchange
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import FileFacts, Refused
from services.intake.service_layer.idempotency import ActionKey, IdempotencyConflict
from shared.clock import SYSTEM_CLOCK, Clock
from shared.contracts import ActionRefused, Approve, DepartmentActed, DepartmentAction, EventData, RefusalRule
from shared.db import SessionFactory
from shared.messaging.outbox import Outbox
from shared.messaging.processed import already_processed, mark_processed
from shared.personal_data import id_number_digest

CaseStep = Callable[[JointCase, datetime], list[EventData]]
HTTP_ACTIONS = "http-actions"  # the processed-message record of actions taken over HTTP


class CaseNotFound(LookupError):
    pass


class CaseActions:
    def __init__(
        self,
        sessions: SessionFactory,
        outbox: Outbox,
        after_commit: Callable[[], None],
        clock: Clock = SYSTEM_CLOCK,
        exchange: Exchange | None = None,
    ) -> None:
        """`exchange`: the centers this one exchanges cases with, where it has any (a part transferred up, a
        transferred case's decision back)."""
        self.sessions, self.outbox = sessions, outbox
        self.after_commit, self.clock, self.exchange = after_commit, clock, exchange

    async def department_acts(
        self,
        case_id: str,
        department: str,
        staff_id: str,
        action: DepartmentAction,
        work_order_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JointCase:
        held: set[str] = set()
        if named_files([action]):  # an approval naming its certificates: which of them the center holds
            async with self.sessions() as session:
                held = await stored(session, [action])
        return await self._run(
            case_id,
            department_step(department, staff_id, action, work_order_id, stored=held, exchange=self.exchange),
            refusal=dict(department=department, staff_id=staff_id, work_order_id=work_order_id, action=action),
            key=ActionKey.of(
                work_order_id or f"{case_id}-{department}", department, idempotency_key, f"{staff_id}\n{action.model_dump_json()}"
            ),
        )

    async def read(self, case_id: str) -> JointCase | None:
        async with self.sessions() as session:
            return await CaseBook(session, self.outbox).get(case_id)

    async def supplement(
        self, case_id: str, materials: dict[str, dict[str, str]], staff_id: str, known: FileFacts | None = None
    ) -> JointCase:
        return await self._run(
            case_id,
            lambda c, at: c.supplement(materials, staff_id, at, known),
            refusal=dict(staff_id=staff_id, kind="supplement", detail={"materials": materials}),
        )

    async def deliver(self, case_id: str, method: str, staff_id: str) -> JointCase:
        return await self._run(
            case_id,
            lambda c, at: c.deliver(method, staff_id, at),
            refusal=dict(staff_id=staff_id, kind="deliver", detail={"method": method}),
        )

    async def evaluate(self, case_id: str, score: int, reason: str | None, applicant: str | None = None) -> JointCase:
        """好差评; given `applicant` (the ID number's digest of an applicant who evaluates their own case),
        anyone else's case is not found, as one that does not exist."""

        def step(case: JointCase, at: datetime) -> list[EventData]:
            if applicant is not None and id_number_digest(case.applicant.id_number) != applicant:
                raise CaseNotFound(case_id)
            return case.evaluate(score, reason, at)

        return await self._run(case_id, step, refusal=dict(kind="evaluate", detail={"score": score, "reason": reason}))

    async def _run(
        self,
        case_id: str,
        step: CaseStep,
        refusal: dict[str, object],
        attempts: int = 3,
        key: ActionKey | None = None,
    ) -> JointCase:
        """One action in one transaction; an action sent again with the same key (a client that
        retries after a timeout) answers with the case as it is and does nothing twice; another
        action under a key already used is a conflict."""
        for attempt in range(attempts):
            try:
                async with self.sessions() as session, session.begin():
                    book = CaseBook(session, self.outbox)
                    if key and (seen := await already_processed(session, HTTP_ACTIONS, [key.key, key.request, key.legacy])):
                        if key.request not in seen and key.legacy not in seen:
                            raise IdempotencyConflict(
                                "此 Idempotency-Key 已用于本工单的另一项操作 "
                                "(this Idempotency-Key was used for another action on this work order)"
                            )
                        case = await book.get(case_id)
                        if case is None:
                            raise CaseNotFound(case_id)
                        return case
                    case, refused = await apply(book, case_id, step, self.clock.now(), refusal)
                    await book.flush()
                    if key and refused is None:
                        await mark_processed(session, HTTP_ACTIONS, [key.key, key.request])
                self.after_commit()
                if refused is not None:
                    raise ActionNotAllowed(case, refused.reason, refused.rule)
                return case
            except ConcurrentUpdate:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    async def record(
        self, session: AsyncSession, actions: list[DepartmentActed], sender: str | None, proofs: list[Proof] | None = None
    ) -> None:
        """Department actions that arrived through Kafka, in the consumer's transaction: from the
        `sender` department's own topic, or (sender None) supervision's deemed approvals. An action
        that names another department than its topic proves, or a deemed approval a department sent,
        is refused as impersonation and changes nothing; so is one whose proof says its signature is
        missing or wrong, where the center requires signatures. What the department stated (its time,
        its signed event) is kept with what it did."""
        book = CaseBook(session, self.outbox)
        await book.load(list({a.case_id for a in actions}))
        held = await stored(session, [a.action for a in actions])
        now = self.clock.now()
        for n, acted in enumerate(actions):
            proof = proofs[n] if proofs else Proof()
            if sender is not None and (forged := impersonation(acted, sender)):
                # the sender is told on its own feedback topic, whichever department it named
                book.publish([refusal_of(acted, forged, RefusalRule.IMPERSONATION, now, department=sender)])
                continue
            if proof.refusal:
                book.publish([refusal_of(acted, proof.refusal, RefusalRule.UNSIGNED, now, department=sender)])
                continue
            step = department_step(
                acted.department,
                acted.staff_id,
                acted.action,
                acted.work_order_id,
                acted.acted_at,
                proof.signed_event,
                held,
                self.exchange,
            )
            refusal: dict[str, object] = dict(
                department=acted.department, staff_id=acted.staff_id, work_order_id=acted.work_order_id, action=acted.action
            )
            try:
                await apply(book, acted.case_id, step, now, refusal)
            except CaseNotFound:
                book.publish([refusal_of(acted, "案件不存在 (no such case)", RefusalRule.NO_WORK_ORDER, now)])
        await book.flush()  # every case the batch changed, in one statement


def named_files(actions: list[DepartmentAction]) -> set[str]:
    """The files the actions name: approvals' certificates."""
    return {c.sha256 for a in actions if isinstance(a, Approve) for c in a.certificates}


async def stored(session: AsyncSession, actions: list[DepartmentAction]) -> set[str]:
    """The files the center holds among those the actions name, in one query (none when they name none)."""
    named = named_files(actions)
    if not named:
        return set()
    return set(await session.scalars(select(MaterialRecord.sha256).where(MaterialRecord.sha256.in_(named))))


def impersonation(acted: DepartmentActed, sender: str) -> str | None:
    """Why an action on `sender`'s own topic cannot be the sender's, if it cannot."""
    if acted.department != sender:
        return f"{sender} 的消息以 {acted.department} 的名义办理 (an action on {sender}'s topic names {acted.department})"
    if acted.action.kind == "deemed_approve":
        return "超时默许只能由电子监察作出 (only supervision issues a deemed approval)"
    return None


def refusal_of(
    acted: DepartmentActed, reason: str, rule: RefusalRule, at: datetime, department: str | None = None
) -> ActionRefused:
    return refused_event(
        acted.case_id,
        reason,
        at=at,
        rule=rule,
        department=department or acted.department,
        staff_id=acted.staff_id,
        work_order_id=acted.work_order_id,
        action=acted.action,
    )


@dataclass(frozen=True)
class Proof:
    """What an action's signature says: the event as the department sent it, when it carries a signature
    (kept with the record), and why the signature is not accepted, where the center requires one."""

    signed_event: dict[str, Any] | None = None
    refusal: str | None = None


def department_step(
    department: str,
    staff_id: str,
    action: DepartmentAction,
    work_order_id: str | None,
    acted_at: datetime | None = None,
    signed_event: dict[str, Any] | None = None,
    stored: Collection[str] = (),
    exchange: Exchange | None = None,
) -> CaseStep:
    """A department's action on its part, named by its work order when the department gave one, at the
    time the department stated (else when Lianban takes it); with the exchange records it sends, if any."""

    def step(case: JointCase, at: datetime) -> list[EventData]:
        if work_order_id is not None and case.part_of(department).work_order_id != work_order_id:
            raise Refused(
                f"工单 {work_order_id} 不属于 {department} (the work order is not this department's)", RefusalRule.NO_WORK_ORDER
            )
        recorded, *follow_up = case.act(department, staff_id, action, at, acted_at, stored)
        if signed_event is not None:
            recorded = recorded.model_copy(update={"signed_event": signed_event})
        if exchange is not None:
            follow_up += exchange.follow_up(case, department, staff_id, action, follow_up, at)
        return [recorded, *follow_up]

    return step


class ActionNotAllowed(Exception):
    def __init__(self, case: JointCase, reason: str, rule: RefusalRule) -> None:
        super().__init__(reason)
        self.case, self.reason, self.rule = case, reason, rule


async def apply(
    book: CaseBook, case_id: str, step: CaseStep, at: datetime, refusal: dict[str, object]
) -> tuple[JointCase, Refused | None]:
    """Run one step on a case in the book's transaction. A refusal is published and leaves the
    case as it was; it is returned (not raised) so that it commits with the transaction."""
    case = await book.get(case_id)
    if case is None:
        raise CaseNotFound(case_id)
    before = case.model_dump()  # a refusal puts this back: a tenth of a deep copy's cost, and refusals are rare
    try:
        events = step(case, at)
    except Refused as refused:
        book.publish([refused_event(case_id, refused.reason, at=at, rule=refused.rule, **refusal)])  # type: ignore[arg-type]
        return book.restore(JointCase.model_validate(before)), refused
    book.save(case)
    book.publish(events)
    return case, None


def refused_event(
    case_id: str,
    reason: str,
    *,
    at: datetime,
    rule: RefusalRule = RefusalRule.OUT_OF_ORDER,
    department: str | None = None,
    staff_id: str | None = None,
    work_order_id: str | None = None,
    action: DepartmentAction | None = None,
    kind: str | None = None,
    detail: dict[str, object] | None = None,
) -> ActionRefused:
    return ActionRefused(
        case_id=case_id,
        work_order_id=work_order_id,
        department=department,
        staff_id=staff_id,
        action_kind=action.kind if action else kind or "unknown",
        action=action.model_dump(mode="json") if action else (detail or {}),
        rule=rule,
        reason=reason,
        refused_at=at,
    )
