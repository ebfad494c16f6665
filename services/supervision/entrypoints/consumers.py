"""Every topic supervision reads, and the handler for each: messages become calls at this boundary."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.service_layer import away, rollup
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.dead_letters import keep
from services.supervision.service_layer.deliveries import reports
from services.supervision.service_layer.watch import Watcher, record
from shared.clock import Clock
from shared.contracts import CenterFigures, CenterMessage, TransferStatus, TransferUrged
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


def from_children(topics: Topics, children: Iterable[str], keys: KeyRegistry, desk: AlertDesk, clock: Clock) -> dict[str, Apply]:
    """Each child center's exchange topic to this one: its figures for the roll-up, and its urgings of parts it
    transferred here (its case records are intake's)."""

    def from_child(child: str) -> Apply:
        async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
            expect(CenterMessage, deliveries)
            messages = _proven(deliveries, keys, child, topics.center)
            await rollup.keep(session, [m for m in messages if isinstance(m, CenterFigures)], clock.now())
            await away.urged_from_child(session, [m for m in messages if isinstance(m, TransferUrged)], desk, clock.now())

        return apply

    return {Topics(child).exchange(topics.center): from_child(child) for child in children}


def from_parent(topics: Topics, parent: str, keys: KeyRegistry, clock: Clock) -> dict[str, Apply]:
    """The parent center's exchange topic to this one: how the parts this center transferred stand there (its
    case records, the decisions, are intake's)."""

    async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
        expect(CenterMessage, deliveries)
        statuses = [m for m in _proven(deliveries, keys, parent, topics.center) if isinstance(m, TransferStatus)]
        await away.keep(session, statuses, clock.now())

    return {Topics(parent).exchange(topics.center): apply}


def _proven(deliveries: list[Delivery], keys: KeyRegistry, sender: str, receiver: str) -> list[CenterMessage]:
    """The messages of supervision's kinds, each proven the sender's, or NotProven (a dead letter)."""
    mine = [(d.data, signed_event(d.record.value)) for d in deliveries if isinstance(d.data, SUPERVISION_KINDS)]
    for message, event in mine:
        if reason := unproven(keys, event, message, sender, receiver):
            raise NotProven(f"{sender} {type(message).__name__} {message.sent_at.isoformat()}: {reason}")
    return [message for message, _ in mine]


SUPERVISION_KINDS = (CenterFigures, TransferStatus, TransferUrged)  # what supervision takes from another center
