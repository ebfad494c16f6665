"""Following each case's events into the applicant's view, and replying once it is concluded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.adapters.orm import CaseView
from services.gateway.domain.reply import unified_reply
from shared.contracts import (
    CaseAccepted,
    CaseConcluded,
    CaseEvaluated,
    CaseNotAccepted,
    CaseState,
    CaseSubmitted,
    CaseSupplemented,
    DocumentsDelivered,
    EventData,
    PartActionRecorded,
    PartState,
    SupplementRequested,
)
from shared.messaging.consumer import Delivery
from shared.messaging.outbox import Outbox
from shared.topics import Topics

log = logging.getLogger(__name__)

class Projector:
    def __init__(self, outbox: Outbox, topics: Topics,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.outbox, self.topics, self.clock = outbox, topics, clock

    async def apply(self, session: AsyncSession, deliveries: list[Delivery]) -> None:
        case_ids = {d.event.subject for d in deliveries}
        views = {v.case_id: v for v in await session.scalars(select(CaseView).where(CaseView.case_id.in_(case_ids)))}
        for delivery in deliveries:
            event = delivery.data
            if isinstance(event, CaseSubmitted):
                if event.case_id not in views:
                    views[event.case_id] = _opened(event)
                    session.add(views[event.case_id])
                continue
            view = views.get(delivery.event.subject)
            if view is None:  # events of a case are ordered: its submission comes first, or it was lost
                log.error("event %s for case %s, which this gateway never saw submitted", delivery.event.type,
                          delivery.event.subject)
                continue
            self._follow(session, view, event)

    def _follow(self, session: AsyncSession, view: CaseView, event: EventData) -> None:
        if isinstance(event, PartActionRecorded):
            view.state = event.case_state
            view.parts = [_acted(p, event) if p["department"] == event.department else p for p in view.parts]
        elif isinstance(event, SupplementRequested):
            view.state, view.notice = CaseState.AWAITING_SUPPLEMENT, event.model_dump(mode="json")
        elif isinstance(event, CaseSupplemented):
            view.state, view.notice = CaseState.PRE_REVIEW, None
            view.parts = [p | {"state": PartState.FORWARDED.value} if p["department"] in event.materials else p
                          for p in view.parts]  # the departments that asked review again
        elif isinstance(event, CaseAccepted):
            view.state, view.accepted_at = CaseState.HANDLING, event.accepted_at
            view.parts = [p | {"state": PartState.HANDLING.value} for p in view.parts]
        elif isinstance(event, CaseNotAccepted):
            view.state = CaseState.NOT_ACCEPTED
        elif isinstance(event, CaseConcluded) and view.reply is None:
            reply = unified_reply(event, self.clock())
            view.reply = reply.model_dump(mode="json")
            self.outbox.add(session, self.topics.replies, reply, subject=event.case_id)
        elif isinstance(event, DocumentsDelivered):
            view.delivery = event.model_dump(mode="json")
        elif isinstance(event, CaseEvaluated):
            view.evaluation = event.model_dump(mode="json")


def _opened(event: CaseSubmitted) -> CaseView:
    parts = [{**p.model_dump(mode="json"), "state": PartState.FORWARDED.value, "last_action": None} for p in event.parts]
    return CaseView(case_id=event.case_id, matter_code=event.matter_code, matter_name=event.matter_name,
                    lead_department=event.lead_department, applicant=event.applicant.model_dump(mode="json"),
                    state=CaseState.PRE_REVIEW, submitted_at=event.submitted_at, parts=parts)


def _acted(part: dict[str, Any], event: PartActionRecorded) -> dict[str, Any]:
    return part | {"state": event.part_state, "last_action": event.action.model_dump(mode="json"),
                   "last_action_at": event.acted_at.isoformat()}
