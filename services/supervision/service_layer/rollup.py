"""汇总: a city's supervision shows its districts' figures side by side, fed by the exchange (each child sends
its own every few minutes, signed with its key), never by reading their databases; a district sends its
figures to its parent and sees no sibling's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import CenterFiguresReport
from services.supervision.domain.statistics import Figures
from services.supervision.service_layer.statistics import statistics
from shared.centers import Centers
from shared.clock import Clock
from shared.contracts import AlertKind, CenterFigures
from shared.db import SessionFactory
from shared.exchange import newest
from shared.messaging.outbox import Outbox
from shared.workdays import WorkingCalendar


def summary(figures: Figures) -> dict[str, Any]:
    """The figures a center sends and shows for itself: the same fields either way."""
    return {
        "received": figures.received,
        "accepted": figures.accepted,
        "completed": figures.completed,
        "decided_parts": figures.decided_parts,
        "on_time_parts": figures.on_time_parts,
        "on_time_rate": figures.on_time_rate,
        "overdue_parts": figures.overdue_parts,
        "yellow_cards": figures.cards.get(AlertKind.YELLOW, 0),
        "red_cards": figures.cards.get(AlertKind.RED, 0),
        "urges": figures.urges,
        "complaints": figures.complaints,
        "mean_evaluation": figures.mean_evaluation,
    }


@dataclass(frozen=True)
class FiguresReporter:
    """Sends this center's figures to its parent, through the outbox (signed with the center's key)."""

    center: str
    centers: Centers
    sessions: SessionFactory
    outbox: Outbox
    calendar: WorkingCalendar
    clock: Clock
    after_commit: Callable[[], None]

    async def report(self) -> None:
        parent = self.centers.parent(self.center)
        if parent is None:
            return
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            figures = summary(await statistics(session, self.calendar, now))
            message = CenterFigures(
                from_center=self.center,
                from_division=self.centers[self.center].division,
                to_center=parent,
                to_division=self.centers[parent].division,
                sent_at=now,
                **figures,
            )
            self.outbox.add(session, message, subject=self.center)
        self.after_commit()


async def keep(session: AsyncSession, reports: list[CenterFigures], at: datetime) -> None:
    """Each child's latest report (by when it was sent): an older one arriving late changes nothing."""
    latest = newest(reports, lambda report: report.from_center)
    if not latest:
        return
    query = select(CenterFiguresReport).where(CenterFiguresReport.center.in_(latest))
    known = {r.center: r for r in await session.scalars(query)}
    for center, report in latest.items():
        figures = report.model_dump(mode="json", exclude={"from_center", "from_division", "to_center", "to_division", "sent_at"})
        row = known.get(center)
        if row is None:
            session.add(CenterFiguresReport(center=center, sent_at=report.sent_at, received_at=at, figures=figures))
        elif report.sent_at > row.sent_at:
            row.sent_at, row.received_at, row.figures = report.sent_at, at, figures


async def side_by_side(
    session: AsyncSession, center: str, centers: Centers, calendar: WorkingCalendar, now: datetime
) -> list[dict[str, Any]]:
    """This center's own figures and each child's latest, best first (on-time rate, then fewest overdue);
    a child that never reported is listed last, with no figures."""
    rows = [_row(center, centers, summary(await statistics(session, calendar, now)), now)]
    reported = {r.center: r for r in await session.scalars(select(CenterFiguresReport))}
    for child in centers.children(center):
        report = reported.get(child)
        rows.append(_row(child, centers, report.figures if report else None, report.sent_at if report else None))
    return sorted(rows, key=_rank)


def _row(code: str, centers: Centers, figures: dict[str, Any] | None, as_of: datetime | None) -> dict[str, Any]:
    center = centers.centers.get(code)
    return {
        "center": code,
        "name": centers.name(code),
        "level": center.level.value if center else None,
        "division": center.division if center else None,
        "as_of": as_of,
        "figures": figures,
    }


def _rank(row: dict[str, Any]) -> tuple[int, float, int, str]:
    """Best first, as departments are ranked: the highest on-time rate, then the fewest overdue parts; a center
    that never reported last."""
    figures = row["figures"]
    if figures is None:
        return (1, 0.0, 0, row["center"])
    rate = figures["on_time_rate"]
    return (0, -(rate if rate is not None else -1.0), figures["overdue_parts"], row["center"])
