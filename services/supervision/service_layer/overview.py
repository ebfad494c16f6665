"""The console's figures, read from supervision's own tables: the overview (总览), each department and its
bridge (部门与通道), and parallel against serial handling (并联成效)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import Alert, CaseFile, Complaint, PartClock, WorkDelivery
from services.supervision.domain.console_text import NOT_ACCEPTED
from services.supervision.domain.deadlines import ClockState, clock_state
from services.supervision.domain.savings import CaseSaving, PartSpan, saving
from services.supervision.domain.statistics import decided_on_time
from services.supervision.service_layer.statistics import ranking
from shared.workdays import CHINA, WorkingCalendar

BUCKETS = ("1", "2", "3", "4-5", "6-10", ">10")  # working days overdue, the heat map's columns


def bucket(days: int) -> int:
    return 0 if days <= 1 else 1 if days == 2 else 2 if days == 3 else 3 if days <= 5 else 4 if days <= 10 else 5


def month(moment: datetime) -> str:
    return f"{moment.astimezone(CHINA):%Y-%m}"


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def overview(session: AsyncSession, calendar: WorkingCalendar, now: datetime, names: dict[str, str]) -> dict[str, Any]:
    return {
        "generated_at": now.isoformat(),
        "cases_by_state": await _cases_by_state(session),
        **await _parts(session, calendar, now, names),
        "today": await _today(session, now),
        "ranking": await _ranking(session, calendar, now, names),
        "evaluations": await _evaluations(session),
    }


async def _cases_by_state(session: AsyncSession) -> dict[str, int]:
    refused = CaseFile.outcome == NOT_ACCEPTED
    state = case(
        (refused, NOT_ACCEPTED),
        (CaseFile.concluded_at.is_not(None), "concluded"),
        (CaseFile.accepted_at.is_not(None), "handling"),
        else_="submitted",
    )
    counts: dict[str, int] = dict((await session.execute(select(state, func.count()).group_by(state))).all())
    return {s: int(counts.get(s, 0)) for s in ("submitted", "handling", "concluded", NOT_ACCEPTED)}


async def _parts(session: AsyncSession, calendar: WorkingCalendar, now: datetime, names: dict[str, str]) -> dict[str, Any]:
    """Parts by department and state, the overdue heat map and the months, in one pass over the parts."""
    rows = await session.execute(
        select(
            PartClock.department,
            PartClock.started_at,
            PartClock.deadline,
            PartClock.suspended_since,
            PartClock.decided_at,
            PartClock.calendar_error,
            PartClock.deemed,
            CaseFile.submitted_at,
        ).join(CaseFile, CaseFile.case_id == PartClock.case_id)
    )
    states: dict[str, Counter[str]] = defaultdict(Counter)
    overdue: Counter[tuple[str, int]] = Counter()
    decided: Counter[str] = Counter()
    on_time: Counter[str] = Counter()
    today = now.astimezone(CHINA).date()
    for department, started, due, suspended, decided_at, error, deemed, submitted in rows:
        state = clock_state(started, due, suspended is not None, decided_at, now, error)
        states[department][state] += 1
        if state is ClockState.OVERDUE and due is not None:
            overdue[(department, bucket(max(1, calendar.working_days_between(due.astimezone(CHINA).date(), today))))] += 1
        if decided_at is not None and started is not None:
            decided[month(submitted)] += 1
            on_time[month(submitted)] += decided_on_time(due, decided_at, deemed)
    departments = sorted({d for d, _ in overdue}, key=lambda d: list(names).index(d) if d in names else len(names))
    return {
        "parts_by_department": [
            {
                "department": d,
                "department_name": names.get(d, d),
                "states": {s.value: counts[s] for s in ClockState if s is not ClockState.UNSCHEDULED or counts[s]},
            }
            for d, counts in sorted(states.items())
        ],
        "overdue_heatmap": {
            "departments": departments,
            "department_names": [names.get(d, d) for d in departments],
            "buckets": list(BUCKETS),
            "cells": [[departments.index(d), b, n] for (d, b), n in sorted(overdue.items())],
        },
        "monthly": await _months(session, decided, on_time),
    }


async def _months(session: AsyncSession, decided: Counter[str], on_time: Counter[str]) -> list[dict[str, Any]]:
    """Per month of submission: received, completed, 办结率 and 按时办结率 (of the parts decided)."""
    received: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    for submitted, concluded in (await session.execute(select(CaseFile.submitted_at, CaseFile.concluded_at))).all():
        received[month(submitted)] += 1
        completed[month(submitted)] += concluded is not None
    return [
        {
            "month": m,
            "received": received[m],
            "completed": completed[m],
            "completion_rate": rate(completed[m], received[m]),
            "on_time_rate": rate(on_time[m], decided[m]),
        }
        for m in sorted(received)[-12:]
    ]


async def _today(session: AsyncSession, now: datetime) -> dict[str, int]:
    midnight = datetime.combine(now.astimezone(CHINA).date(), datetime.min.time(), CHINA)
    counts = dict(
        (await session.execute(select(Alert.kind, func.count()).where(Alert.issued_at >= midnight).group_by(Alert.kind))).all()
    )
    return {kind: int(counts.get(kind, 0)) for kind in ("reminder", "yellow_card", "red_card", "urge")}


async def _ranking(
    session: AsyncSession, calendar: WorkingCalendar, now: datetime, names: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "rank": i,
            "department": d,
            "department_name": names.get(d, d),
            "on_time_rate": f.on_time_rate,
            "overdue_parts": f.overdue_parts,
            "mean_working_days": f.mean_working_days,
            "complaints": f.complaints,
        }
        for i, (d, f) in enumerate(await ranking(session, calendar, now), 1)
    ]


async def _evaluations(session: AsyncSession) -> dict[str, int]:
    marks = dict((await session.execute(select(CaseFile.evaluation, func.count()).group_by(CaseFile.evaluation))).all())
    return {str(score): int(marks.get(score, 0)) for score in range(1, 6)}


async def departments(
    session: AsyncSession, now: datetime, names: dict[str, str], undelivered_after: timedelta
) -> dict[str, dict[str, Any]]:
    """Per department: what is open, what waits for it to answer, and the oldest work its side has not taken."""
    open_ = PartClock.decided_at.is_(None) & PartClock.started_at.is_not(None)
    parts = {
        d: (int(o), int(late))
        for d, o, late in await session.execute(
            select(PartClock.department, func.count(), func.count().filter(PartClock.deadline < now))
            .where(open_)
            .group_by(PartClock.department)
        )
    }
    urges: Counter[str] = Counter()
    for department, unanswered in (await session.execute(select(PartClock.department, PartClock.urges).where(open_))).all():
        urges[department] += len(unanswered or [])
    notices = dict(
        (
            await session.execute(
                select(Alert.department, func.count()).where(Alert.acknowledged_at.is_(None)).group_by(Alert.department)
            )
        ).all()
    )
    untaken = {
        d: (int(n), oldest)
        for d, n, oldest in await session.execute(
            select(WorkDelivery.department, func.count(), func.min(WorkDelivery.issued_at))
            .where(WorkDelivery.taken_at.is_(None), WorkDelivery.closed.is_(False))
            .group_by(WorkDelivery.department)
        )
    }
    complaints = dict(
        (
            await session.execute(
                select(Complaint.department, func.count()).where(Complaint.resolved_at.is_(None)).group_by(Complaint.department)
            )
        ).all()
    )
    views = {}
    for department, name in names.items():
        waiting, oldest = untaken.get(department, (0, None))
        age = (now - oldest).total_seconds() if oldest else None
        views[department] = {
            "department": department,
            "department_name": name,
            "open_parts": parts.get(department, (0, 0))[0],
            "overdue_parts": parts.get(department, (0, 0))[1],
            "unacknowledged_notices": int(notices.get(department, 0)),
            "urges_waiting": urges[department],
            "complaints_open": int(complaints.get(department, 0)),
            "waiting_work": waiting,
            "oldest_untaken_since": oldest.isoformat() if oldest else None,
            "oldest_untaken_seconds": round(age, 1) if age is not None else None,
            "late": age is not None and age > undelivered_after.total_seconds(),
        }
    return views


async def savings(session: AsyncSession, calendar: WorkingCalendar) -> dict[str, Any]:
    """Concluded cases: the joint handling's working days against the sum of the parts' own."""
    cases = (
        await session.execute(
            select(CaseFile.case_id, CaseFile.matter_code, CaseFile.accepted_at, CaseFile.concluded_at).where(
                CaseFile.concluded_at.is_not(None), CaseFile.accepted_at.is_not(None)
            )
        )
    ).all()
    spans: dict[str, list[PartSpan]] = defaultdict(list)
    ids = [c.case_id for c in cases]
    for chunk in range(0, len(ids), 1000):
        for case_id, started, decided, suspended in await session.execute(
            select(PartClock.case_id, PartClock.started_at, PartClock.decided_at, PartClock.suspended_days).where(
                PartClock.case_id.in_(ids[chunk : chunk + 1000]),
                PartClock.started_at.is_not(None),
                PartClock.decided_at.is_not(None),
            )
        ):
            if started and decided:  # both, by the query
                spans[case_id].append(PartSpan(started, decided, suspended))
    results = [saving(calendar, c.case_id, c.matter_code, c.accepted_at, c.concluded_at, spans[c.case_id]) for c in cases]

    def totals(group: list[CaseSaving]) -> dict[str, int]:
        joint, serial = sum(r.joint_days for r in group), sum(r.serial_days for r in group)
        return {"cases": len(group), "joint_days": joint, "serial_days": serial, "saved_days": sum(r.saved_days for r in group)}

    by_matter: dict[str, list[CaseSaving]] = defaultdict(list)
    by_month: dict[str, list[CaseSaving]] = defaultdict(list)
    for r in results:
        by_matter[r.matter_code].append(r)
        by_month[month(r.concluded_at)].append(r)
    latest = sorted(results, key=lambda r: r.concluded_at, reverse=True)[:20]
    return totals(results) | {
        "by_matter": [{"matter_code": m} | totals(g) for m, g in sorted(by_matter.items())],
        "by_month": [{"month": m} | totals(g) for m, g in sorted(by_month.items())[-12:]],
        "latest": [
            {
                "case_id": r.case_id,
                "matter_code": r.matter_code,
                "concluded_at": r.concluded_at.isoformat(),
                "joint_days": r.joint_days,
                "serial_days": r.serial_days,
            }
            for r in latest
        ],
    }
