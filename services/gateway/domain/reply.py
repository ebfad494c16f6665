"""One reply for the applicant once every department part has its result (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.contracts import Outcome, PartOutcome, UnifiedReply


@dataclass(frozen=True)
class PartState:
    work_order_id: str
    department: str
    part_code: str
    part_name: str
    outcome: Outcome | None = None
    document_number: str | None = None
    legal_basis: str | None = None
    reason: str | None = None
    decided_at: datetime | None = None


def unified_reply(case_id: str, matter_name: str, parts: list[PartState], now: datetime) -> UnifiedReply | None:
    """The reply, or None while any part still waits for its department."""
    if not parts or any(p.outcome is None or p.decided_at is None for p in parts):
        return None
    outcomes = [
        PartOutcome(department=p.department, part_code=p.part_code, part_name=p.part_name,
                    outcome=p.outcome, document_number=p.document_number, legal_basis=p.legal_basis,
                    reason=p.reason, decided_at=p.decided_at)
        for p in parts if p.outcome is not None and p.decided_at is not None
    ]
    approved = all(o.outcome is Outcome.APPROVED for o in outcomes)
    overall = Outcome.APPROVED if approved else Outcome.DENIED
    return UnifiedReply(case_id=case_id, outcome=overall, message=_message(matter_name, overall, outcomes),
                        parts=outcomes, replied_at=now)


def _message(matter_name: str, overall: Outcome, parts: list[PartOutcome]) -> str:
    head = (f"您申请的「{matter_name}」已办结，各部门均准予许可。" if overall is Outcome.APPROVED
            else f"您申请的「{matter_name}」已办结，部分事项不予许可，详见各部门意见。")
    lines = [_line(p) for p in parts]
    return "\n".join([head, *lines])


def _line(part: PartOutcome) -> str:
    if part.outcome is Outcome.APPROVED:
        return f"- {part.part_name}（{part.department}）：准予，文书编号 {part.document_number}"
    return f"- {part.part_name}（{part.department}）：不予，理由：{part.reason}；依据：{part.legal_basis}"
