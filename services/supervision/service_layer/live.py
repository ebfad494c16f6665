"""The center's timeline as it grows, for the live screen (实时监控): each watcher reads on from its own
cursor, so a reconnect with the last id it saw misses nothing and sees nothing twice.

Timeline ids are assigned at insert, and a transaction that took an id may commit after one that took a
larger id: each read looks a little behind its cursor (`LOOKBACK` ids) and skips the ids it has shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import CaseFile, TimelineEntry
from services.supervision.domain.console_text import CASE_STATE_TEXT, NOT_ACCEPTED, case_state, event_text
from shared.personal_data import masked

LOOKBACK = 200
PAGE = 500
FIRST = 50  # a watcher without a cursor starts with the newest few


@dataclass(frozen=True)
class LiveFilter:
    department: str | None = None
    matter: str | None = None
    state: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        found = [TimelineEntry.department == self.department] if self.department else []
        found += [CaseFile.matter_code == self.matter] if self.matter else []
        return found + ([_state_is(self.state)] if self.state else [])


def _state_is(state: str) -> ColumnElement[bool]:
    not_refused = CaseFile.outcome.is_(None) | (CaseFile.outcome != NOT_ACCEPTED)
    return {
        NOT_ACCEPTED: CaseFile.outcome == NOT_ACCEPTED,
        "concluded": and_(CaseFile.concluded_at.is_not(None), not_refused),
        "handling": and_(CaseFile.accepted_at.is_not(None), CaseFile.concluded_at.is_(None), not_refused),
        "submitted": and_(CaseFile.accepted_at.is_(None), not_refused),
    }[state]


@dataclass
class LiveCursor:
    """One watcher's place in the timeline."""

    filter: LiveFilter
    names: dict[str, str]
    after: int | None = None
    shown: set[int] = field(default_factory=set)
    floor: int = field(init=False, default=0)  # what the watcher had seen before this cursor: never looked behind

    def __post_init__(self) -> None:
        self.floor = self.after or 0

    async def read(self, session: AsyncSession) -> list[dict[str, Any]]:
        """The entries this watcher has not seen yet, oldest first."""
        query = (
            select(TimelineEntry, CaseFile.matter_code, CaseFile.accepted_at, CaseFile.concluded_at, CaseFile.outcome)
            .outerjoin(CaseFile, CaseFile.case_id == TimelineEntry.case_id)
            .where(*self.filter.clauses())
        )
        if self.after is None:
            rows = list(reversed((await session.execute(query.order_by(TimelineEntry.id.desc()).limit(FIRST))).all()))
            self.after = self.floor = max((r[0].id for r in rows), default=await _newest(session))
        else:
            low = max(self.floor, self.after - LOOKBACK)
            page = query.where(TimelineEntry.id > low).order_by(TimelineEntry.id).limit(PAGE)
            rows = [r for r in (await session.execute(page)).all() if r[0].id not in self.shown]
        self._remember(r[0].id for r in rows)
        return [self._entry(*row) for row in rows]

    def _remember(self, ids: Iterable[int]) -> None:
        self.shown.update(ids)
        if self.shown:
            self.after = max(self.after or 0, max(self.shown))
            self.shown = {i for i in self.shown if i > self.after - LOOKBACK}

    def _entry(
        self,
        entry: TimelineEntry,
        matter: str | None,
        accepted_at: datetime | None,
        concluded_at: datetime | None,
        outcome: str | None,
    ) -> dict[str, Any]:
        state = case_state(accepted_at is not None, concluded_at is not None, outcome) if matter else None
        return {
            "id": entry.id,
            "case_id": entry.case_id,
            "event_type": entry.event_type,
            "event_text": event_text(entry.event_type, entry.summary),
            "occurred_at": entry.occurred_at.isoformat(),
            "department": entry.department,
            "department_name": self.names.get(entry.department) if entry.department else None,
            "matter_code": matter,
            "state": state,
            "state_text": CASE_STATE_TEXT.get(state) if state else None,
            "summary": masked(entry.summary),
        }


async def _newest(session: AsyncSession) -> int:
    return int(await session.scalar(select(TimelineEntry.id).order_by(TimelineEntry.id.desc()).limit(1)) or 0)
