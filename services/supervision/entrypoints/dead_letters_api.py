"""HTTP for the center's dead letters: every one with its reason and origin; supervisors redrive them to
their topic after a fix, or discard them with a reason (operators see them but may not act)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.supervision.adapters.orm import DeadLetterRecord
from services.supervision.entrypoints.console_api import CONSOLE_READERS
from services.supervision.service_layer.dead_letters import STATUS_TEXT, act, why_not_redrivable
from shared.clock import Clock
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role


class DeadLetterView(BaseModel):
    id: str
    received_at: datetime
    consumer: str
    error: str
    topic: str
    partition: int
    offset: int
    key: str | None
    case_id: str | None
    department: str | None
    event_type: str | None
    redrivable: bool
    status: str
    status_text: str
    acted_by: str | None
    acted_at: datetime | None
    act_reason: str | None

    @classmethod
    def of(cls, d: DeadLetterRecord) -> DeadLetterView:
        return cls(
            id=d.letter_id,
            redrivable=d.status == "open" and why_not_redrivable(d) is None,
            status_text=STATUS_TEXT[d.status],
            **{k: getattr(d, k) for k in cls.model_fields if k not in ("id", "redrivable", "status_text")},
        )


Ids = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=500)]


class Redrive(BaseModel):
    ids: Ids = Field(description="The dead letters to redrive, at most 500 at once.")
    reason: str | None = Field(default=None, max_length=500, description="What was fixed.")


class Discard(BaseModel):
    ids: Ids = Field(description="The dead letters to discard, at most 500 at once.")
    reason: str = Field(min_length=1, max_length=500, description="Why they are dropped: required.")


class ActOutcome(BaseModel):
    redriven: list[str] = Field(default_factory=list)
    discarded: list[str] = Field(default_factory=list)
    refused: list[dict[str, str]] = Field(default_factory=list, description="Each refused id with the reason.")


def router(sessions: SessionFactory, clock: Clock, access: Access, after_commit: Callable[[], None]) -> APIRouter:
    api = APIRouter(prefix="/api/v1/supervision/dead-letters", tags=["dead letters"])
    reader = Depends(access.allow(*CONSOLE_READERS))
    supervisor = Depends(access.allow(Role.SUPERVISOR, Role.ADMIN))

    @api.get("", response_model=list[DeadLetterView])
    async def dead_letters(
        status: Literal["open", "redriven", "discarded", "all"] = "open",
        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
        _caller: Principal = reader,
    ) -> list[DeadLetterView]:
        """The center's dead letters, newest first: reason, origin topic, partition and offset, what became of them."""
        query = select(DeadLetterRecord)
        if status != "all":
            query = query.where(DeadLetterRecord.status == status)
        async with sessions() as session:
            rows = await session.scalars(query.order_by(DeadLetterRecord.received_at.desc()).limit(limit))
            return [DeadLetterView.of(d) for d in rows]

    @api.post("/redrive", response_model=ActOutcome)
    async def redrive(body: Redrive, staff: Principal = supervisor) -> ActOutcome:
        """Each original back to its topic as it was (after a fix), recorded with who and why."""
        async with sessions() as session, session.begin():
            done = await act(session, body.ids, redrive=True, by=staff.subject, reason=body.reason, now=clock.now())
        after_commit()
        return ActOutcome(redriven=done.done, refused=done.refused)

    @api.post("/discard", response_model=ActOutcome)
    async def discard(body: Discard, staff: Principal = supervisor) -> ActOutcome:
        """Dropped for good, with the reason, recorded with who."""
        async with sessions() as session, session.begin():
            done = await act(session, body.ids, redrive=False, by=staff.subject, reason=body.reason, now=clock.now())
        return ActOutcome(discarded=done.done, refused=done.refused)

    return api
