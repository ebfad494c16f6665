"""A department's decision on its part, whichever system or person made it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.contracts import DepartmentResult, Outcome, WorkOrder


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    document_number: str | None = None
    legal_basis: str | None = None
    reason: str | None = None
    handled_by: str | None = None

    def result_for(self, order: WorkOrder, decided_at: datetime) -> DepartmentResult:
        return DepartmentResult(
            work_order_id=order.work_order_id, case_id=order.case_id, department=order.department,
            part_code=order.part_code, outcome=self.outcome, document_number=self.document_number,
            legal_basis=self.legal_basis, reason=self.reason, handled_by=self.handled_by,
            decided_at=decided_at,
        )
