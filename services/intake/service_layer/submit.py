"""Submitting a joint case: store it and, in the same transaction, queue its events."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.intake.adapters.orm import CaseRecord
from services.intake.domain.case import Application, Case, open_case
from services.intake.domain.catalog import Catalog
from shared.contracts import CaseSubmitted, PartSummary, WorkOrder
from shared.db import SessionFactory
from shared.messaging.outbox import Outbox
from shared.topics import Topics


class UnknownMatter(LookupError):
    pass


class IdempotencyConflict(ValueError):
    """The same Idempotency-Key came with a different request."""


@dataclass(frozen=True)
class Submitted:
    record: CaseRecord
    created: bool


class SubmitCase:
    def __init__(self, sessions: SessionFactory, catalog: Catalog, outbox: Outbox, topics: Topics,
                 after_commit: Callable[[], None], clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.sessions, self.catalog, self.outbox, self.topics = sessions, catalog, outbox, topics
        self.after_commit, self.clock = after_commit, clock

    async def __call__(self, application: Application, idempotency_key: str | None) -> Submitted:
        matter = self.catalog.joint_matters.get(application.matter_code)
        if matter is None:
            raise UnknownMatter(application.matter_code)
        fingerprint = _fingerprint(application)
        if idempotency_key and (earlier := await self._by_key(idempotency_key)):
            return self._replay(earlier, fingerprint)
        now = self.clock()
        case = open_case(matter, application, _new_case_id(now), now)
        record = _record(case, application, idempotency_key, fingerprint)
        try:
            async with self.sessions() as session, session.begin():
                session.add(record)
                self._queue_events(session, case, application)
        except IntegrityError:
            earlier = await self._by_key(idempotency_key) if idempotency_key else None
            if earlier is None:
                raise
            return self._replay(earlier, fingerprint)
        self.after_commit()
        return Submitted(record, created=True)

    def _queue_events(self, session, case: Case, application: Application) -> None:  # type: ignore[no-untyped-def]
        center = self.topics.center
        parts = [PartSummary(work_order_id=p.work_order_id, department=p.department, part_code=p.part_code,
                             part_name=p.part_name, time_limit_days=p.time_limit_days) for p in case.parts]
        submitted = CaseSubmitted(case_id=case.case_id, center=center, matter_code=case.matter_code,
                                  matter_name=case.matter_name, lead_department=case.lead_department,
                                  applicant=case.applicant, parts=parts, submitted_at=case.submitted_at)
        self.outbox.add(session, self.topics.case_events, submitted, subject=case.case_id)
        for p in case.parts:
            order = WorkOrder(work_order_id=p.work_order_id, case_id=case.case_id, center=center,
                              matter_code=case.matter_code, department=p.department, part_code=p.part_code,
                              part_name=p.part_name, applicant=case.applicant, materials=p.materials,
                              time_limit_days=p.time_limit_days, issued_at=case.submitted_at)
            self.outbox.add(session, self.topics.work(p.department), order, subject=case.case_id)

    async def _by_key(self, key: str) -> CaseRecord | None:
        async with self.sessions() as session:
            return await session.scalar(select(CaseRecord).where(CaseRecord.idempotency_key == key))

    @staticmethod
    def _replay(earlier: CaseRecord, fingerprint: str) -> Submitted:
        if earlier.request_hash != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was already used for a different application")
        return Submitted(earlier, created=False)


def _new_case_id(now: datetime) -> str:
    return f"LB{now:%Y%m%d}{uuid.uuid4().hex[:12].upper()}"


def _fingerprint(application: Application) -> str:
    data = asdict(application) | {"applicant": application.applicant.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _record(case: Case, application: Application, key: str | None, fingerprint: str) -> CaseRecord:
    return CaseRecord(
        case_id=case.case_id, matter_code=case.matter_code, lead_department=case.lead_department,
        window_id=application.window_id, staff_id=application.staff_id,
        applicant=case.applicant.model_dump(mode="json"),
        parts=[{"work_order_id": p.work_order_id, "department": p.department, "part_code": p.part_code,
                "part_name": p.part_name, "time_limit_days": p.time_limit_days} for p in case.parts],
        submitted_at=case.submitted_at, idempotency_key=key, request_hash=fingerprint,
    )
