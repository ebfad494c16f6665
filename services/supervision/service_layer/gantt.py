"""One case as a chart (一案一图): each department's part over the calendar, with what stopped and moved its
clock (suspensions, extensions), its deadline and the cards and urgings it drew."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import Alert, CaseFile, PartClock
from services.supervision.domain.console_text import alert_text
from services.supervision.domain.deadlines import STATE_TEXT, clock_state
from shared.workdays import CHINA, WorkingCalendar

MAX_DAYS = 120  # a chart wider than this shows its last days


async def gantt(
    session: AsyncSession, case_id: str, calendar: WorkingCalendar, now: datetime, names: dict[str, str]
) -> dict[str, Any] | None:
    case = await session.get(CaseFile, case_id)
    if case is None:
        return None
    parts = list(await session.scalars(select(PartClock).where(PartClock.case_id == case_id).order_by(PartClock.department)))
    alerts = list(await session.scalars(select(Alert).where(Alert.case_id == case_id).order_by(Alert.issued_at)))
    moments = [case.submitted_at, now, *(m for p in parts for m in (p.started_at, p.deadline, p.decided_at) if m)]
    if case.deadline:
        moments.append(case.deadline)
    first, last = min(moments).astimezone(CHINA).date(), max(moments).astimezone(CHINA).date()
    first = max(first, last - timedelta(days=MAX_DAYS))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return {
        "case_id": case.case_id,
        "matter_code": case.matter_code,
        "lead_department": case.lead_department,
        "submitted_at": case.submitted_at.isoformat(),
        "accepted_at": _iso(case.accepted_at),
        "deadline": _iso(case.deadline),
        "concluded_at": _iso(case.concluded_at),
        "now": now.isoformat(),
        "days": [{"date": d.isoformat(), "working": calendar.is_working_day(d)} for d in days],
        "parts": [_part(p, [a for a in alerts if a.work_order_id == p.work_order_id], now, names) for p in parts],
        "evidence_url": f"/api/v1/supervision/cases/{case_id}/evidence",
    }


def _part(part: PartClock, alerts: list[Alert], now: datetime, names: dict[str, str]) -> dict[str, Any]:
    suspended = part.suspended_since is not None
    state = clock_state(part.started_at, part.deadline, suspended, part.decided_at, now, part.calendar_error)
    suspensions: list[dict[str, str | None]] = [{"since": since, "until": until} for since, until in part.suspensions]
    if part.suspended_since:
        suspensions.append({"since": part.suspended_since.isoformat(), "until": None})
    return {
        "work_order_id": part.work_order_id,
        "department": part.department,
        "department_name": names.get(part.department, part.department),
        "part_code": part.part_code,
        "time_limit_days": part.time_limit_days,
        "started_at": _iso(part.started_at),
        "deadline": _iso(part.deadline),
        "decided_at": _iso(part.decided_at),
        "state": state.value,
        "state_text": STATE_TEXT[state],
        "suspensions": suspensions,
        "extension_days": part.extension_days,
        "urge_count": part.urge_count,
        "cards": [
            {
                "kind": a.kind,
                "kind_text": alert_text(a.kind),
                "issued_at": a.issued_at.isoformat(),
                "message": a.message,
            }
            for a in alerts
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
