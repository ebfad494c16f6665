"""Loading and saving joint cases inside the caller's transaction, with their events.

A case is one JSON document with a version; a save that finds another version was written in
the meantime raises `ConcurrentUpdate`, and the caller retries on fresh state.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.adapters.orm import CaseRecord, PartRecord
from services.intake.domain.lifecycle import JointCase
from shared.contracts import EventData, HandlingStarted, WorkOrder
from shared.messaging.consumer import TransientError
from shared.messaging.outbox import Outbox
from shared.topics import Topics


class ConcurrentUpdate(TransientError):
    """Another writer saved the case in between; the caller retries on fresh state."""


class CaseBook:
    def __init__(self, session: AsyncSession, outbox: Outbox, topics: Topics) -> None:
        self.session, self.outbox, self.topics = session, outbox, topics
        self._versions: dict[str, int] = {}
        self._cases: dict[str, JointCase] = {}
        self._part_states: dict[str, str] = {}  # as stored, so a save writes only the parts that moved

    async def get(self, case_id: str) -> JointCase | None:
        if case_id not in self._cases:
            await self.load([case_id])
        return self._cases.get(case_id)

    async def load(self, case_ids: list[str]) -> None:
        wanted = [c for c in case_ids if c not in self._cases]
        if not wanted:
            return
        rows = await self.session.execute(
            select(CaseRecord.case_id, CaseRecord.document, CaseRecord.version).where(CaseRecord.case_id.in_(wanted)))
        for row in rows:
            case = self._cases[row.case_id] = JointCase.model_validate(row.document)
            self._versions[row.case_id] = row.version
            self._part_states.update((p.work_order_id, p.state) for p in case.parts)

    def add(self, case: JointCase, idempotency_key: str | None, request_hash: str) -> None:
        self.session.add(CaseRecord(case_id=case.case_id, matter_code=case.matter_code,
                                    applicant_id=case.applicant.id_number, state=case.state,
                                    document=case.model_dump(mode="json"), version=1, submitted_at=case.submitted_at,
                                    idempotency_key=idempotency_key, request_hash=request_hash))
        self.session.add_all(PartRecord(work_order_id=p.work_order_id, case_id=case.case_id,
                                        department=p.department, state=p.state) for p in case.parts)
        self._cases[case.case_id], self._versions[case.case_id] = case, 1
        self._part_states.update((p.work_order_id, p.state) for p in case.parts)

    async def save(self, case: JointCase) -> None:
        version = self._versions[case.case_id]
        result = await self.session.execute(
            update(CaseRecord).where(CaseRecord.case_id == case.case_id, CaseRecord.version == version)
            .values(document=case.model_dump(mode="json"), state=case.state, version=version + 1))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(case.case_id)
        self._versions[case.case_id] = version + 1
        self._cases[case.case_id] = case
        moved = [{"work_order_id": p.work_order_id, "state": p.state} for p in case.parts
                 if self._part_states.get(p.work_order_id) != p.state]
        if moved:
            await self.session.execute(update(PartRecord), moved)  # one executemany by primary key
            self._part_states.update((m["work_order_id"], m["state"]) for m in moved)

    def publish(self, events: list[EventData]) -> None:
        for event in events:
            case_id: str = event.case_id  # type: ignore[attr-defined]
            self.outbox.add(self.session, self.topic_for(event), event, subject=case_id)

    def topic_for(self, event: EventData) -> str:
        """Work for a department goes to its own topic; everything else is the case's story."""
        if isinstance(event, WorkOrder | HandlingStarted):
            return self.topics.work(event.department)
        return self.topics.case_events
