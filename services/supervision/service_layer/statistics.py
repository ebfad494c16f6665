"""Reading the figures for a center, a department, a matter and a period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import Alert, CaseFile, Complaint, PartClock, WorkDelivery
from services.supervision.domain.statistics import CaseFacts, Figures, PartFacts, figures, ranking_key
from shared.workdays import WorkingCalendar


async def statistics(
    session: AsyncSession,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    department: str | None = None,
    matter: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Figures:
    cases, parts, kinds, undelivered, complaints = await _facts(session, department, matter, since, until)
    return figures(cases, parts, kinds, now, calendar, undelivered, complaints)


async def ranking(
    session: AsyncSession,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    matter: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[str, Figures]]:
    departments = sorted(set(await session.scalars(select(PartClock.department).distinct())))
    rows = [
        (d, await statistics(session, calendar, now, department=d, matter=matter, since=since, until=until)) for d in departments
    ]
    return sorted(rows, key=lambda row: ranking_key(*row))


async def _facts(
    session: AsyncSession, department: str | None, matter: str | None, since: datetime | None, until: datetime | None
) -> tuple[list[CaseFacts], list[PartFacts], list[str], int, int]:
    query = select(CaseFile)
    if matter:
        query = query.where(CaseFile.matter_code == matter)
    if since:
        query = query.where(CaseFile.submitted_at >= since)
    if until:
        query = query.where(CaseFile.submitted_at < until)
    if department:
        query = query.where(CaseFile.case_id.in_(select(PartClock.case_id).where(PartClock.department == department)))
    cases = list(await session.scalars(query))
    ids = [c.case_id for c in cases]
    part_query = select(PartClock).where(PartClock.case_id.in_(ids))
    alert_query = select(Alert.kind).where(Alert.case_id.in_(ids))
    undelivered_query = select(func.count()).where(WorkDelivery.case_id.in_(ids), WorkDelivery.alert_id.is_not(None))
    complaint_query = select(func.count()).where(Complaint.case_id.in_(ids))
    if department:
        complaint_query = complaint_query.where(Complaint.department == department)
        part_query = part_query.where(PartClock.department == department)
        alert_query = alert_query.where(Alert.department == department)
        undelivered_query = undelivered_query.where(WorkDelivery.department == department)
    parts = list(await session.scalars(part_query))
    kinds = list(await session.scalars(alert_query))
    return (
        [CaseFacts(c.case_id, c.accepted_at is not None, c.concluded_at is not None, c.evaluation) for c in cases],
        [PartFacts(p.department, p.started_at, p.deadline, p.decided_at, p.suspended_days, p.deemed) for p in parts],
        kinds,
        await session.scalar(undelivered_query) or 0,
        await session.scalar(complaint_query) or 0,
    )
