"""Loading and saving joint cases inside the caller's transaction, with their events.

A case is one JSON document with a version; a save that finds another version was written in
the meantime raises `ConcurrentUpdate`, and the caller retries on fresh state.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.adapters.orm import CaseRecord, PartRecord
from services.intake.domain.lifecycle import JointCase
from shared.contracts import EventData
from shared.messaging.consumer import TransientError
from shared.messaging.outbox import Outbox

_CASES = cast(Table, CaseRecord.__table__)
# built once, as they run for every action on a case (see shared/messaging/processed.py)
_LOAD = select(CaseRecord.case_id, CaseRecord.document, CaseRecord.version).where(
    CaseRecord.case_id.in_(bindparam("ids", expanding=True))
)
_LOCK = (
    select(_CASES.c.case_id, _CASES.c.version)
    .where(_CASES.c.case_id.in_(bindparam("ids", expanding=True)))
    .order_by(_CASES.c.case_id)
    .with_for_update()
)
_SAVE = (
    update(_CASES)
    .where(_CASES.c.case_id == bindparam("cid"), _CASES.c.version == bindparam("was"))
    .values(document=bindparam("doc"), state=bindparam("st"), version=bindparam("now"))
)
_MOVE = update(PartRecord)  # by primary key, one executemany


class ConcurrentUpdate(TransientError):
    """Another writer saved the case in between; the caller retries on fresh state."""


class CaseBook:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session, self.outbox = session, outbox
        self._versions: dict[str, int] = {}
        self._cases: dict[str, JointCase] = {}
        self._part_states: dict[str, str] = {}  # as stored, so a save writes only the parts that moved
        self._dirty: set[str] = set()

    async def get(self, case_id: str) -> JointCase | None:
        if case_id not in self._cases:
            await self.load([case_id])
        return self._cases.get(case_id)

    async def load(self, case_ids: list[str]) -> None:
        wanted = [c for c in case_ids if c not in self._cases]
        if not wanted:
            return
        rows = await self.session.execute(_LOAD, {"ids": wanted})
        for row in rows:
            case = self._cases[row.case_id] = JointCase.model_validate(row.document)
            self._versions[row.case_id] = row.version
            self._part_states.update((p.work_order_id, p.state) for p in case.parts)

    def add(self, case: JointCase, idempotency_key: str | None, request_hash: str) -> None:
        self.session.add(
            CaseRecord(
                case_id=case.case_id,
                matter_code=case.matter_code,
                applicant_id=case.applicant.id_number,
                state=case.state,
                document=case.model_dump(mode="json"),
                version=1,
                submitted_at=case.submitted_at,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
        )
        self.session.add_all(
            PartRecord(work_order_id=p.work_order_id, case_id=case.case_id, department=p.department, state=p.state)
            for p in case.parts
        )
        self._cases[case.case_id], self._versions[case.case_id] = case, 1
        self._part_states.update((p.work_order_id, p.state) for p in case.parts)

    def restore(self, case: JointCase) -> JointCase:
        """Put back the case as it was before a refused step changed it (the step's changes are not saved)."""
        self._cases[case.case_id] = case
        return case

    def save(self, case: JointCase) -> None:
        """Keep the new state; `flush` writes every changed case of the transaction at once."""
        self._cases[case.case_id] = case
        self._dirty.add(case.case_id)

    async def flush(self) -> None:
        """Write the changed cases and the parts that moved. The cases' rows are locked (in id order,
        so two writers cannot deadlock) and their versions compared with those they were read at: a
        case someone else saved in between raises ConcurrentUpdate. Then one executemany writes them
        all; no driver's row count of a multi-row statement is trusted (asyncpg reports none)."""
        if not self._dirty:
            return
        cases = [self._cases[c] for c in sorted(self._dirty)]
        locked = await self.session.execute(_LOCK, {"ids": sorted(self._dirty)})
        stored = {case_id: version for case_id, version in locked}
        stale = [c.case_id for c in cases if stored.get(c.case_id) != self._versions[c.case_id]]
        if stale:
            raise ConcurrentUpdate(", ".join(stale))
        await self.session.execute(
            _SAVE,
            [
                {
                    "cid": c.case_id,
                    "was": self._versions[c.case_id],
                    "now": self._versions[c.case_id] + 1,
                    "doc": c.model_dump(mode="json"),
                    "st": c.state,
                }
                for c in cases
            ],
        )
        for c in cases:
            self._versions[c.case_id] += 1
        moved = [
            {"work_order_id": p.work_order_id, "state": p.state}
            for c in cases
            for p in c.parts
            if self._part_states.get(p.work_order_id) != p.state
        ]
        if moved:
            await self.session.execute(_MOVE, moved)
            self._part_states.update((m["work_order_id"], m["state"]) for m in moved)
        self._dirty.clear()

    def publish(self, events: list[EventData]) -> None:
        for event in events:
            case_id: str = event.case_id  # type: ignore[attr-defined]
            self.outbox.add(self.session, event, subject=case_id)
