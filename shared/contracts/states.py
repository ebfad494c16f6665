"""Where a case and each of its department parts stand. The names travel in events (and the
Chinese text is what staff and applicants read), so every service uses these."""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    PRE_REVIEW = "pre_review"  # 受理审查：各部门同时预审
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # 已一次性告知，等待申请人补正
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    HANDLING = "handling"  # 已受理，各部门并联办理
    CONCLUDED = "concluded"  # 已办结


class PartState(StrEnum):
    FORWARDED = "forwarded"  # 已抄告，待预审
    PRE_ACCEPTED = "pre_accepted"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PRE_REFUSED = "pre_refused"
    HANDLING = "handling"
    SUSPENDED = "suspended"
    TRANSFERRED = "transferred"  # 已转报上级中心，由其部门决定
    APPROVED = "approved"
    DENIED = "denied"
    RECTIFICATION_REQUIRED = "rectification_required"


class AlertKind(StrEnum):
    """The steps of supervision's warning ladder, each an alert and a notice to the department."""

    REMIND = "reminder"  # 提醒
    YELLOW = "yellow_card"  # 黄牌
    URGE = "urge"  # 催办
    SHIRK = "shirking"  # 推托联办责任
    RED = "red_card"  # 红牌
    DEEM = "deemed_approval"  # 超时默许


STATE_TEXT: dict[str, str] = {
    CaseState.PRE_REVIEW: "受理审查中",
    CaseState.AWAITING_SUPPLEMENT: "待补正",
    CaseState.NOT_ACCEPTED: "不予受理",
    CaseState.HANDLING: "办理中",
    CaseState.CONCLUDED: "已办结",
    PartState.FORWARDED: "待预审",
    PartState.PRE_ACCEPTED: "预审通过",
    PartState.SUPPLEMENT_REQUESTED: "需补正",
    PartState.PRE_REFUSED: "不予受理",
    PartState.SUSPENDED: "中止计时",
    PartState.TRANSFERRED: "已转报上级",
    PartState.APPROVED: "准予",
    PartState.DENIED: "不予许可",
    PartState.RECTIFICATION_REQUIRED: "需整改",
}
