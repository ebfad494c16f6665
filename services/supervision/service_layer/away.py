"""A part at another center (转报): the deciding center's supervision sends home how it stands there (its
deadline by that center's calendar, cards, urgings), and the transferring center's lead can urge across
centers, the urging reaching the deciding department as a notice to acknowledge."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import AwayPart, CaseFile, PartClock
from services.supervision.domain.deadlines import clock_state
from services.supervision.service_layer.alerts import AlertDesk, Issued
from shared.centers import Centers
from shared.clock import Clock
from shared.contracts import AlertKind, TransferStatus, TransferUrged
from shared.db import SessionFactory
from shared.exchange import newest
from shared.messaging.outbox import Outbox
from shared.messaging.processed import claim

FINAL_STATUS_WITHIN = timedelta(days=1)  # a concluded case's last status still goes home this long after
URGES = "exchange-urges"  # the processed-message record of urges from other centers, by their ids


@dataclass(frozen=True)
class StatusReporter:
    """At the deciding center: sends the transferring center each transferred part's status when it changed."""

    center: str
    centers: Centers
    sessions: SessionFactory
    outbox: Outbox
    names: dict[str, str]
    clock: Clock
    after_commit: Callable[[], None]

    async def report(self) -> int:
        """Sends what changed since it was last sent; returns how many."""
        now, sent = self.clock.now(), 0
        async with self.sessions() as session, session.begin():
            rows = await session.execute(
                select(CaseFile, PartClock)
                .join(PartClock, PartClock.case_id == CaseFile.case_id)
                .where(CaseFile.transferred_from.is_not(None))
                .where(CaseFile.concluded_at.is_(None) | (CaseFile.concluded_at >= now - FINAL_STATUS_WITHIN))
            )
            for case, part in rows:
                status = self._status(case, part, now)
                digest = _digest(status)
                if digest != case.status_sent:
                    self.outbox.add(session, status, subject=status.serial)
                    case.status_sent, sent = digest, sent + 1
        if sent:
            self.after_commit()
        return sent

    def _status(self, case: CaseFile, part: PartClock, now: datetime) -> TransferStatus:
        origin = case.transferred_from
        assert origin is not None
        assert case.origin_work_order is not None
        state = clock_state(part.started_at, part.deadline, part.suspended_since is not None, part.decided_at, now)
        return TransferStatus(
            from_center=self.center,
            from_division=self.centers[self.center].division,
            to_center=origin,
            to_division=self.centers[origin].division,
            sent_at=now,
            serial=case.case_id,
            stage_id=case.origin_work_order,
            department_name=self.names.get(part.department, part.department),
            state="decided" if part.decided_at else state.value,
            deadline=part.deadline,
            yellow_cards=int(part.yellow),
            red_cards=int(part.red),
            urges=part.urge_count,
        )


def _digest(status: TransferStatus) -> str:
    """What makes a status news: everything but when it was sent."""
    fields = status.model_dump(mode="json", exclude={"sent_at"})
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


async def keep(session: AsyncSession, statuses: list[TransferStatus], at: datetime) -> None:
    """At the transferring center: each part's latest status from the center deciding it."""
    latest = newest(statuses, lambda status: status.stage_id)
    if not latest:
        return
    known = {p.work_order_id: p for p in await session.scalars(select(AwayPart).where(AwayPart.work_order_id.in_(latest)))}
    for work_order_id, status in latest.items():
        row = known.get(work_order_id)
        if row is not None and status.sent_at <= row.sent_at:
            continue
        if row is None:
            row = AwayPart(work_order_id=work_order_id)
            session.add(row)
        row.case_id, row.center, row.department_name = status.serial, status.from_center, status.department_name
        row.state, row.deadline, row.sent_at, row.received_at = status.state, status.deadline, status.sent_at, at
        row.yellow_cards, row.red_cards, row.urges = status.yellow_cards, status.red_cards, status.urges


def urge_across(
    session: AsyncSession, away: AwayPart, center: str, centers: Centers, outbox: Outbox, urged_by: str, at: datetime
) -> TransferUrged:
    """At the transferring center: the urge of a part at another center, sent there."""
    urged = TransferUrged(
        from_center=center,
        from_division=centers[center].division,
        to_center=away.center,
        to_division=centers[away.center].division,
        sent_at=at,
        serial=away.case_id,
        stage_id=away.work_order_id,
        urge_id=str(uuid.uuid4()),
        urged_by=urged_by,
        urged_at=at,
    )
    outbox.add(session, urged, subject=away.case_id)
    return urged


async def urged_from_child(session: AsyncSession, urges: list[TransferUrged], desk: AlertDesk, now: datetime) -> None:
    """At the deciding center: an urge from the center that transferred the part, to this center's department,
    as this center's own urge (a notice to acknowledge, counted toward shirking)."""
    issued = Issued()
    claimed = await claim(session, URGES, [u.urge_id for u in urges])
    fresh = [u for u in {u.urge_id: u for u in urges}.values() if u.urge_id in claimed]
    for urged in fresh:
        part = await session.scalar(
            select(PartClock)
            .join(CaseFile, CaseFile.case_id == PartClock.case_id)
            .where(CaseFile.case_id == urged.serial, CaseFile.origin_work_order == urged.stage_id)
        )
        if part is None or part.decided_at is not None:
            continue  # decided already (the decision is on its way home), or never filed here
        part.urge_count += 1
        part.urges = [*part.urges, now.isoformat()]
        part.next_check_at = now
        by = f"{urged.from_center}:{urged.urged_by}"[:64]
        desk.issue(issued, part, AlertKind.URGE, now, sequence=part.urge_count, issued_by=by, evidence={"urge_id": urged.urge_id})
    await issued.write(session)
