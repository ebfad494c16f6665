"""Every topic intake reads, and the handler for each: messages become calls at this boundary.

Each department's actions come on its own topic, which only that department may write: the topic, not
the payload, says who acted. Deemed approvals come only on supervision's own topic."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.service_layer.act import CaseActions, Proof
from shared.contracts import DeemedApprovalIssued, DepartmentActed
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
