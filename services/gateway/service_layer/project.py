"""Following each case's events into the applicant's view, and replying once it is concluded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.adapters.orm import ApplicantView
from services.gateway.domain.reply import unified_reply
from shared.clock import SYSTEM_CLOCK, Clock
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
from shared.messaging.outbox import Outbox

log = logging.getLogger(__name__)
_VIEWS = select(ApplicantView).where(ApplicantView.case_id.in_(bindparam("ids", expanding=True)))  # built once


class Projector:
    def __init__(self, outbox: Outbox, clock: Clock = SYSTEM_CLOCK) -> None:
        self.outbox, self.clock = outbox, clock
        self.handlers: dict[type[EventData], Callable[[AsyncSession, ApplicantView, Any], None]] = {
            PartActionRecorded: self._part_acted,
            SupplementRequested: self._notice_given,
            CaseSupplemented: self._supplemented,
            CaseAccepted: self._accepted,
            CaseNotAccepted: self._not_accepted,
            CaseConcluded: self._concluded,
            DocumentsDelivered: self._delivered,
            CaseEvaluated: self._evaluated,
        }

    async def follow(self, session: AsyncSession, events: list[EventData]) -> None:
        """A batch of case events, in order, into the applicant's views (loaded and saved together)."""
        case_ids = {e.case_id for e in events}  # type: ignore[attr-defined]
        views = {v.case_id: v for v in await session.scalars(_VIEWS, {"ids": list(case_ids)})}
        for event in events:
            case_id: str = event.case_id  # type: ignore[attr-defined]
            if isinstance(event, CaseSubmitted):
                if case_id not in views:
                    views[case_id] = _opened(event)
                    session.add(views[case_id])
            elif (handler := self.handlers.get(type(event))) is None:
                continue  # not for the applicant's eyes (a refused action, say)
            elif (view := views.get(case_id)) is None:  # a case's events are ordered: its submission comes first
                log.error("event %s for case %s, which this gateway never saw submitted", event.event_type, case_id)
            else:
                handler(session, view, event)

    def _part_acted(self, _s: AsyncSession, view: ApplicantView, event: PartActionRecorded) -> None:
        view.state = event.case_state
        view.parts = [_acted(p, event) if p["department"] == event.department else p for p in view.parts]

    def _notice_given(self, _s: AsyncSession, view: ApplicantView, event: SupplementRequested) -> None:
        view.state, view.notice = CaseState.AWAITING_SUPPLEMENT, event.model_dump(mode="json")

    def _supplemented(self, _s: AsyncSession, view: ApplicantView, event: CaseSupplemented) -> None:
        view.state, view.notice = CaseState.PRE_REVIEW, None
        view.parts = [
            p | {"state": PartState.FORWARDED.value} if p["department"] in event.materials else p for p in view.parts
        ]  # the departments that asked review again

    def _accepted(self, _s: AsyncSession, view: ApplicantView, event: CaseAccepted) -> None:
        view.state, view.accepted_at = CaseState.HANDLING, event.accepted_at
        view.parts = [p | {"state": PartState.HANDLING.value} for p in view.parts]

    def _not_accepted(self, _s: AsyncSession, view: ApplicantView, _event: CaseNotAccepted) -> None:
        view.state = CaseState.NOT_ACCEPTED

    def _concluded(self, session: AsyncSession, view: ApplicantView, event: CaseConcluded) -> None:
        if view.reply is None:  # one reply, however often the conclusion is delivered
            reply = unified_reply(event, self.clock.now())
            view.reply = reply.model_dump(mode="json")
            self.outbox.add(session, reply, subject=event.case_id)

    def _delivered(self, _s: AsyncSession, view: ApplicantView, event: DocumentsDelivered) -> None:
        view.delivery = event.model_dump(mode="json")

    def _evaluated(self, _s: AsyncSession, view: ApplicantView, event: CaseEvaluated) -> None:
        view.evaluation = event.model_dump(mode="json")


def _opened(event: CaseSubmitted) -> ApplicantView:
    parts = [{**p.model_dump(mode="json"), "state": PartState.FORWARDED.value, "last_action": None} for p in event.parts]
    return ApplicantView(
        case_id=event.case_id,
        matter_code=event.matter_code,
        matter_name=event.matter_name,
        lead_department=event.lead_department,
        applicant=event.applicant.model_dump(mode="json"),
        state=CaseState.PRE_REVIEW,
        submitted_at=event.submitted_at,
        parts=parts,
        query_code_sha256=event.query_code_sha256,
    )


def _acted(part: dict[str, Any], event: PartActionRecorded) -> dict[str, Any]:
    return part | {
        "state": event.part_state,
        "last_action": event.action.model_dump(mode="json"),
        "last_action_at": event.acted_at.isoformat(),
    }
