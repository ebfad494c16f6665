"""Every topic supervision reads, and the handler for each: messages become calls at this boundary."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.service_layer import rollup
from services.supervision.service_layer.dead_letters import keep
from services.supervision.service_layer.deliveries import reports
from services.supervision.service_layer.watch import Watcher, record
from shared.clock import Clock
from shared.contracts import CenterFigures, CenterMessage
from shared.exchange import NotProven, unproven
from shared.messaging.consumer import Apply, Delivery, expect
from shared.signing import KeyRegistry, signed_event
from shared.topics import Topics


def handlers(topics: Topics, departments: Iterable[str], watcher: Watcher, clock: Clock) -> dict[str, Apply]:
    def acknowledgements(department: str) -> Apply:
        async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
            """回告 of notices and 签收 of work, from the department's own topic: it acknowledges only its own."""
            await watcher.acknowledge(session, deliveries, sender=department)

        return apply

    def bridge(department: str) -> Apply:
        async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
            """The department's bridge reports, from its own topic: the latest is kept."""
            await reports(session, deliveries, department, clock.now())

        return apply

    async def dead_letters(session: AsyncSession, deliveries: list[Delivery]) -> None:
        """What any consumer of the center could not handle."""
        await keep(session, deliveries, clock.now())

    departments = list(departments)
    return (
        {
            topics.case_events: watcher.follow,  # timeline, part clocks, violations, work sent
            topics.replies: record,  # the one reply, on the case's timeline
            topics.dead_letters: dead_letters,  # kept for the console's operators to redrive or discard
        }
        | {topics.acknowledgements(d): acknowledgements(d) for d in departments}
        | {topics.bridge(d): bridge(d) for d in departments}
    )


def from_children(topics: Topics, children: Iterable[str], keys: KeyRegistry, clock: Clock) -> dict[str, Apply]:
    """Each child center's exchange topic to this one: its figures for the roll-up (its case records are intake's)."""

    def from_child(child: str) -> Apply:
        async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
            expect(CenterMessage, deliveries)
            mine = [(d.data, signed_event(d.record.value)) for d in deliveries if isinstance(d.data, CenterFigures)]
            for report, event in mine:
                if reason := unproven(keys, event, report, child, topics.center):
                    raise NotProven(f"{child} 汇总 {report.sent_at.isoformat()}: {reason}")
            await rollup.keep(session, [report for report, _ in mine], clock.now())

        return apply

    return {Topics(child).exchange(topics.center): from_child(child) for child in children}
