"""Issuing an alert: its record, the event on the alerts topic and the notice on the department's topic."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import Alert, PartClock, TimelineEntry
from shared.contracts import AlertKind, SupervisionAlert
from shared.messaging.outbox import Outbox, queue

MESSAGES = {
    AlertKind.REMIND: "【提醒】{part} 将于 {deadline} 到期，请按时办结。",
    AlertKind.YELLOW: "【黄牌警告】{part} 已超过承诺时限（{deadline}），请立即办理并回告。",
    AlertKind.URGE: "【催办】{part} 已超期未办结（时限 {deadline}），第{n}次催办，请立即办理并回告。",
    AlertKind.SHIRK: "【推托联办责任】{part} 经三次催办仍未办理，已记录为推托联办责任。",
    AlertKind.RED: "【红牌警告】{part} 超期未办结，予以红牌警告，请立即办理并回告。",
    AlertKind.DEEM: "【超时默许】{part} 超过承诺时限且催办后五个工作日仍未答复，视为准予，并启动问责。",
}


@dataclass
class Issued:
    """Rows of many alerts, written with one bulk insert per table (a burst of deadlines is thousands)."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)

    async def write(self, session: AsyncSession) -> None:
        queue(session, self.outbox)
        for statement, rows in ((_INSERT_ALERTS, self.alerts), (_INSERT_TIMELINE, self.timeline)):
            if rows:
                await session.execute(statement, rows)


# Core inserts of plain rows: the ORM's bulk path copies and inspects every row first (a third of a burst's write)
_INSERT_ALERTS = insert(cast(Table, Alert.__table__))
_INSERT_TIMELINE = insert(cast(Table, TimelineEntry.__table__))


@lru_cache(maxsize=1024)
def _local_minute(moment: datetime) -> str:
    """A deadline as staff read it, in local time; remembered, as a burst of alerts shares a few deadlines."""
    return f"{moment.astimezone():%Y-%m-%d %H:%M}"


class AlertDesk:
    def __init__(self, outbox: Outbox, names: dict[str, str]) -> None:
        """`names`: each department's Chinese name by code, as the alert's readers know it (`chinese_names`)."""
        self.outbox, self.names = outbox, names

    def issue(
        self,
        issued: Issued,
        part: PartClock,
        step: AlertKind,
        now: datetime,
        *,
        sequence: int = 1,
        issued_by: str = "supervision",
        evidence: dict[str, Any] | None = None,
    ) -> SupervisionAlert:
        name = f"{self.names.get(part.department, part.department)}办理的 {part.part_code}（办件 {part.case_id}）"
        deadline = part.deadline
        message = MESSAGES[step].format(part=name, n=sequence, deadline=_local_minute(deadline) if deadline else "—")
        alert = SupervisionAlert(
            alert_id=str(uuid.uuid4()),
            case_id=part.case_id,
            work_order_id=part.work_order_id,
            department=part.department,
            kind=step.value,
            sequence=sequence,
            message=message,
            deadline=deadline,
            issued_by=issued_by,
            issued_at=now,
            evidence=evidence or {},
        )
        issued.alerts.append(
            dict(
                alert_id=alert.alert_id,
                case_id=part.case_id,
                work_order_id=part.work_order_id,
                department=part.department,
                kind=step.value,
                sequence=sequence,
                issued_by=issued_by,
                issued_at=now,
                message=message,
                evidence=alert.evidence,
            )
        )
        event, rows = self.outbox.rows(alert, subject=part.case_id)
        issued.outbox += rows
        issued.timeline.append(
            dict(
                case_id=part.case_id,
                event_id=event.id,
                event_type=event.type,
                occurred_at=now,
                department=part.department,
                summary={"kind": step.value, "sequence": sequence, "issued_by": issued_by},
            )
        )
        return alert
