"""Every topic intake reads, and the handler for each: messages become calls at this boundary.

Each department's actions come on its own topic, which only that department may write: the topic, not
the payload, says who acted. Deemed approvals come only on supervision's own topic. What another center
sends comes on its exchange topic to this center (mirrored here), signed with that center's key."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.domain.exchange import ExchangeRefused
from services.intake.service_layer.act import CaseActions, Proof
from services.intake.service_layer.exchange import ExchangeDesk
from shared.contracts import CenterMessage, DeemedApprovalIssued, DepartmentActed, ExchangeRecord
from shared.exchange import unproven
from shared.messaging.consumer import Apply, Delivery, expect
from shared.signing import KeyRegistry, signed_event
from shared.topics import Topics


def handlers(
    topics: Topics, departments: Iterable[str], actions: CaseActions, signatures: KeyRegistry | None = None
) -> dict[str, Apply]:
    """`signatures`: the center requires every department action on Kafka signed by a key it registered."""

    def department_actions(department: str) -> Apply:
        async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
            """What this department's system did: steps on its parts of the cases."""
            acted = expect(DepartmentActed, deliveries)
            sent = [signed_event(d.record.value) for d in deliveries]  # each read once, for the check and the record
            proofs = [Proof(e, signatures.check(e, department) if signatures else None) for e in sent]
            await actions.record(session, acted, sender=department, proofs=proofs)

        return apply

    async def deemed_approvals(session: AsyncSession, deliveries: list[Delivery]) -> None:
        """Supervision's deemed approvals (超时默许) on silent departments' behalf."""
        await actions.record(session, expect(DeemedApprovalIssued, deliveries), sender=None)

    return {topics.actions(d): department_actions(d) for d in departments} | {topics.deemed_approvals: deemed_approvals}


def exchange_handlers(topics: Topics, desk: ExchangeDesk, center_keys: KeyRegistry) -> dict[str, Apply]:
    """One topic per center this one exchanges with: what that center sends here."""

    def from_peer(peer: str) -> Apply:
        async def apply(session: AsyncSession, deliveries: list[Delivery]) -> None:
            """Records from `peer`: taken only signed by a key registered for it, from it, to this center."""
            expect(CenterMessage, deliveries)  # the peer's supervision's figures travel here too: not intake's
            mine = [(d.data, signed_event(d.record.value)) for d in deliveries if isinstance(d.data, ExchangeRecord)]
            for record, event in mine:
                reason = unproven(center_keys, event, record, peer, topics.center) or desk.exchange.refusal(record, peer)
                if reason:
                    raise ExchangeRefused(f"{record.stage_key}: {reason}")
            await desk.receive(session, [r for r, _ in mine], [e for _, e in mine])

        return apply

    return {Topics(peer).exchange(topics.center): from_peer(peer) for peer in desk.exchange.peers}
