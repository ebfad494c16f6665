"""Violations supervision records from the event stream (pure classification)."""

from __future__ import annotations

from enum import StrEnum

from shared.contracts import DECISIONS, ActionRefused, RefusalRule


class Violation(StrEnum):
    DECISION_WITHOUT_ACCEPTANCE = "decision_without_acceptance"  # 未受理先决定
    STEP_OUT_OF_ORDER = "step_out_of_order"  # 程序颠倒
    DOUBLE_ACCEPTANCE = "double_acceptance"  # 两头受理
    MISSING_LEGAL_BASIS = "missing_legal_basis"  # 不予许可或不予受理无法律依据
    NO_WORK_ORDER = "no_work_order"  # 无工单办理
    IMPERSONATION = "impersonation"  # 冒用其他部门名义或伪造超时默许
    UNSIGNED = "unsigned"  # 办理决定未签名或签名无效
    DOUBTFUL_TIME = "doubtful_time"  # 签署时间异常（晚于接收或早于接收过久）


TEXT = {
    Violation.DECISION_WITHOUT_ACCEPTANCE: "未受理先作出决定",
    Violation.STEP_OUT_OF_ORDER: "办理环节顺序违规",
    Violation.DOUBLE_ACCEPTANCE: "同一申请人同一事项两头受理",
    Violation.MISSING_LEGAL_BASIS: "不予许可或不予受理未说明法律依据",
    Violation.NO_WORK_ORDER: "无工单部门办理案件",
    Violation.IMPERSONATION: "冒用其他部门名义办理或伪造超时默许",
    Violation.UNSIGNED: "办理消息未经登记密钥签名或签名后被改动",
    Violation.DOUBTFUL_TIME: "部门签署的办理时间存疑",
}


def from_refusal(refused: ActionRefused) -> Violation | None:
    """The violation a refused action attempted, if it is one supervision records."""
    if refused.rule is RefusalRule.NOT_ACCEPTED_YET:
        return Violation.DECISION_WITHOUT_ACCEPTANCE if refused.action_kind in DECISIONS else Violation.STEP_OUT_OF_ORDER
    if refused.rule is RefusalRule.MISSING_LEGAL_BASIS:
        return Violation.MISSING_LEGAL_BASIS
    if refused.rule is RefusalRule.NO_WORK_ORDER:
        return Violation.NO_WORK_ORDER
    if refused.rule is RefusalRule.IMPERSONATION:
        return Violation.IMPERSONATION
    if refused.rule is RefusalRule.UNSIGNED:
        return Violation.UNSIGNED
    if refused.rule is RefusalRule.OUT_OF_ORDER and refused.department is not None:
        return Violation.STEP_OUT_OF_ORDER
    return None
