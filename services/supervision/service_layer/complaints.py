"""Complaints (投诉): filed at the window, by the applicant or by a supervisor, about a case or one of its
departments; each has a deadline of its own in working days and is tracked until a supervisor resolves it.
Filing and resolving are on the case's timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import CaseFile, Complaint, TimelineEntry
from shared.identity import Principal, Role
from shared.personal_data import id_number_digest
from shared.workdays import WorkingCalendar

FILED, RESOLVED = "cn.lianban.supervision.complaint_filed", "cn.lianban.supervision.complaint_resolved"


class NotYours(LookupError):
    """The case is unknown, or not the caller's: the same answer for both."""


async def file(
    session: AsyncSession,
    case_id: str,
    department: str | None,
    content: str,
    caller: Principal,
    now: datetime,
    calendar: WorkingCalendar,
    days: int,
) -> Complaint:
    case = await session.get(CaseFile, case_id)
    if case is None or (caller.role is Role.APPLICANT and id_number_digest(case.applicant_id) != caller.id_number_sha256):
        raise NotYours(case_id)
    complaint = Complaint(
        complaint_id=str(uuid.uuid4()),
        case_id=case_id,
        department=department,
        content=content,
        filed_by=caller.subject,
        filed_via=caller.role.value,
        filed_at=now,
        due_at=calendar.deadline(now, days),
    )
    session.add(complaint)
    summary = {"complaint_id": complaint.complaint_id, "by": caller.subject}
    session.add(TimelineEntry.of_act(case_id, FILED, now, department, summary))
    return complaint


class AlreadyResolved(Exception):
    """A complaint is resolved once; what was found stays as it was written."""


async def resolve(
    session: AsyncSession, complaint_id: str, resolution: str, caller: Principal, now: datetime
) -> Complaint | None:
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        return None
    if complaint.resolved_at is not None:
        raise AlreadyResolved(complaint_id)
    complaint.resolved_at, complaint.resolution, complaint.resolved_by = now, resolution, caller.subject
    summary = {"complaint_id": complaint_id, "by": caller.subject, "resolution": resolution}
    session.add(TimelineEntry.of_act(complaint.case_id, RESOLVED, now, complaint.department, summary))
    return complaint


async def listed(session: AsyncSession, status: str, limit: int) -> list[Complaint]:
    query = select(Complaint)
    if status == "open":
        query = query.where(Complaint.resolved_at.is_(None))
    elif status == "resolved":
        query = query.where(Complaint.resolved_at.is_not(None))
    return list(await session.scalars(query.order_by(Complaint.filed_at.desc()).limit(limit)))
