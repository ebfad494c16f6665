"""What the console calls things, in Chinese: each kind of timeline entry (the live screen and a case's timeline
both carry `event_text`), alert kinds, case states."""

from __future__ import annotations

from typing import Any

from shared.contracts import AlertKind, Outcome

EVENT_TEXT = {
    "cn.lianban.case.submitted.v1": "申请登记",
    "cn.lianban.case.supplemented.v1": "补正材料",
    "cn.lianban.case.supplement_requested.v1": "一次性告知补正",
    "cn.lianban.case.accepted.v1": "受理",
    "cn.lianban.case.not_accepted.v1": "不予受理",
    "cn.lianban.case.concluded.v1": "办结",
    "cn.lianban.case.delivered.v1": "送达证照",
    "cn.lianban.case.evaluated.v1": "好差评",
    "cn.lianban.case.replied.v1": "统一答复",
    "cn.lianban.work_order.issued.v1": "派发工单",
    "cn.lianban.work_order.handling_started.v1": "开始办理",
    "cn.lianban.work_order.closed.v1": "关闭工单",
    "cn.lianban.work_order.received.v1": "部门签收",
    "cn.lianban.part.action_recorded.v1": "部门办理",
    "cn.lianban.action.refused.v1": "部门操作被拒",
    "cn.lianban.department.action.v1": "部门操作",
    "cn.lianban.supervision.deemed_approval.v1": "超时默许",
    "cn.lianban.bridge.report.v1": "通道报告",
    "cn.lianban.dead_letter.v1": "死信",
    "cn.lianban.supervision.acknowledged.v1": "部门回告",
    "cn.lianban.supervision.delivery_alert.v1": "送达异常",
    "cn.lianban.supervision.dead_letter_redriven": "死信重新投递",
    "cn.lianban.supervision.dead_letter_discarded": "死信丢弃",
    "cn.lianban.supervision.complaint_filed": "投诉登记",
    "cn.lianban.supervision.complaint_resolved": "投诉办结",
}
ALERT_TEXT: dict[str, str] = {
    AlertKind.REMIND: "预警提醒",
    AlertKind.YELLOW: "黄牌",
    AlertKind.URGE: "催办",
    AlertKind.SHIRK: "推托联办责任",
    AlertKind.RED: "红牌",
    AlertKind.DEEM: "超时默许",
}
ALERT_EVENT = "cn.lianban.supervision.alert.v1"
CASE_STATE_TEXT = {"submitted": "已申请", "handling": "办理中", "concluded": "已办结", "not_accepted": "不予受理"}
NOT_ACCEPTED = Outcome.NOT_ACCEPTED.value  # a case the lead window did not accept ends with it


def event_text(event_type: str, summary: dict[str, Any]) -> str:
    """The live screen's name for an entry: an alert by its kind, anything else by its type."""
    if event_type == ALERT_EVENT:
        return alert_text(str(summary.get("kind")))
    return EVENT_TEXT.get(event_type, event_type.removeprefix("cn.lianban."))


def alert_text(kind: str) -> str:
    return ALERT_TEXT.get(kind, "送达异常" if kind == "undelivered" else "督办")


def case_state(accepted: bool, concluded: bool, outcome: str | None) -> str:
    if outcome == NOT_ACCEPTED:
        return NOT_ACCEPTED
    return "concluded" if concluded else "handling" if accepted else "submitted"
