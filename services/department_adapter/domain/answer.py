"""A department system's answer to one piece of work, and the message that carries it to the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.contracts import (
    DepartmentActed,
    DepartmentAction,
    EventData,
    HandlingStarted,
    SupervisionAlert,
    WaitingWork,
    WorkClosed,
    WorkOrder,
)

Work = WorkOrder | HandlingStarted


class NotYetDecided(Exception):
    """The department system has the work but has not decided yet: ask again later, it is no failure.
    `received_at`: when the department side took it (签收), if the bridge knows; else when it was asked."""

    def __init__(self, item: str, received_at: datetime | None = None) -> None:
        super().__init__(item)
        self.received_at = received_at


class InTransit(Exception):
    """The work is on its way (a bundle not yet read, a row not yet polled): the department side has not
    taken it yet. Asked again when the bridge brings news, or at the next poll."""


@dataclass(frozen=True)
class Answer:
    """`acted_at`: when the department decided, as its side stated it (a store-and-forward bridge brings it
    later); None when it answered just now."""

    action: DepartmentAction
    staff_id: str
    acted_at: datetime | None = None

    def acted(self, work: Work, at: datetime) -> DepartmentActed:
        return DepartmentActed(
            case_id=work.case_id,
            work_order_id=work.work_order_id,
            department=work.department,
            staff_id=self.staff_id,
            acted_at=self.acted_at or at,
            action=self.action,
        )


def waiting(item: str, case_id: str, since: datetime) -> WaitingWork:
    """A piece of work, by its item id, as a bridge report shows it waiting for the department side."""
    work_order_id, _, work = item.partition("#")
    return WaitingWork(case_id=case_id, work_order_id=work_order_id, work=work, since=since)


def item_id(work: EventData) -> str | None:
    """One inbox item per piece of work: each pre-review round, the handling, each supervision notice."""
    if isinstance(work, WorkOrder):
        return f"{work.work_order_id}#review{work.round}"
    if isinstance(work, HandlingStarted):
        return f"{work.work_order_id}#handle"
    if isinstance(work, SupervisionAlert):
        return f"{work.work_order_id}#notice-{work.alert_id}"
    if isinstance(work, WorkClosed):
        return f"{work.work_order_id}#closed"
    return None
