"""The one reply (统一回复) the applicant reads once the case is concluded (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime

from shared.contracts import CaseConcluded, Outcome, PartOutcome, UnifiedReply

HEADLINE = {
    Outcome.APPROVED: "您申请的「{matter}」已办结，各部门均准予许可。",
    Outcome.DENIED: "您申请的「{matter}」已办结，部分事项不予许可，详见各部门意见。",
    Outcome.RECTIFICATION_REQUIRED: "您申请的「{matter}」需整改，请按以下意见整改后提出二次申请。",
    Outcome.NOT_ACCEPTED: "您申请的「{matter}」不予受理，理由如下。",
}


def unified_reply(concluded: CaseConcluded, now: datetime) -> UnifiedReply:
    lines = [HEADLINE[concluded.outcome].format(matter=concluded.matter_name)]
    lines += [_line(p) for p in concluded.parts if p.outcome is not Outcome.NOT_ACCEPTED or p.reason]
    return UnifiedReply(
        case_id=concluded.case_id, outcome=concluded.outcome, message="\n".join(lines), parts=concluded.parts, replied_at=now
    )


def _line(part: PartOutcome) -> str:
    who = f"- {part.part_name}（{part.department_name or part.department}）"
    if part.decided_by_center:  # 初审转报: reviewed here first, decided there
        who += f"，由{part.decided_by_center}决定"
    if part.outcome is Outcome.APPROVED:
        how = "超时默许，视为准予" if part.deemed else "准予"
        documents = "、".join(part.documents) if part.documents else ""
        issued = "、".join(c.name for c in part.certificates)
        return (
            f"{who}：{how}，文书编号 {part.document_number}"
            + (f"（{documents}）" if documents else "")
            + (f"；电子证照「{issued}」可凭查询码下载" if issued else "")
        )
    if part.outcome is Outcome.RECTIFICATION_REQUIRED:
        return f"{who}：需整改：{'；'.join(part.rectification_items)}"
    verdict = "不予受理" if part.outcome is Outcome.NOT_ACCEPTED else "不予许可"
    return f"{who}：{verdict}，理由：{part.reason}；依据：{part.legal_basis}"
