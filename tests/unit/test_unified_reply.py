"""The gateway replies once, stating each department's result in Chinese."""

from datetime import UTC, datetime
from typing import Any

from services.gateway.domain.reply import unified_reply
from shared.contracts import CaseConcluded, Outcome, PartOutcome

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NAMES = {"market": "市场监督管理局", "tax": "税务局", "fire": "消防救援支队"}


def part(dept: str, outcome: Outcome, **kw: Any) -> PartOutcome:
    return PartOutcome(
        department=dept,
        department_name=NAMES[dept],
        part_code=f"{dept.upper()}-1",
        part_name=f"{dept}事项",
        outcome=outcome,
        decided_at=NOW,
        **kw,
    )


def reply_for(outcome: Outcome, *parts: PartOutcome):  # type: ignore[no-untyped-def]
    return unified_reply(
        CaseConcluded(case_id="LB1", matter_name="餐饮店开业联办", outcome=outcome, parts=list(parts), concluded_at=NOW), NOW
    )


def test_all_approved_gives_an_approval_with_every_document() -> None:
    reply = reply_for(
        Outcome.APPROVED,
        part("market", Outcome.APPROVED, document_number="M-1"),
        part("tax", Outcome.APPROVED, document_number="T-9"),
    )
    assert reply.outcome is Outcome.APPROVED
    assert "各部门均准予许可" in reply.message
    assert "M-1" in reply.message
    assert "T-9" in reply.message
    assert "- market事项（市场监督管理局）：准予，文书编号 M-1" in reply.message.splitlines()


def test_one_denial_states_its_reason_and_legal_basis() -> None:
    reply = reply_for(
        Outcome.DENIED,
        part("market", Outcome.APPROVED, document_number="M-1"),
        part("fire", Outcome.DENIED, legal_basis="《消防法》第十五条", reason="疏散通道不足"),
    )
    assert "不予许可，理由：疏散通道不足；依据：《消防法》第十五条" in reply.message


def test_rectification_lists_what_to_fix_and_asks_for_a_second_application() -> None:
    reply = reply_for(
        Outcome.RECTIFICATION_REQUIRED,
        part("fire", Outcome.RECTIFICATION_REQUIRED, rectification_items=["增设应急照明", "清理疏散通道"]),
    )
    assert "二次申请" in reply.message
    assert "增设应急照明；清理疏散通道" in reply.message


def test_not_accepted_gives_every_refusing_departments_reason() -> None:
    reply = reply_for(
        Outcome.NOT_ACCEPTED,
        part("fire", Outcome.NOT_ACCEPTED, reason="不属受理范围", legal_basis="某法"),
        part("tax", Outcome.NOT_ACCEPTED),
    )
    assert "不予受理" in reply.message
    assert "不属受理范围" in reply.message
    assert "税务局" not in reply.message  # tax had accepted: it has nothing to say


def test_a_deemed_approval_says_so() -> None:
    reply = reply_for(Outcome.APPROVED, part("tax", Outcome.APPROVED, document_number="MR-1", deemed=True))
    assert "超时默许" in reply.message


def test_a_part_decided_at_the_parent_center_says_so() -> None:
    """初审转报: the applicant reads which center decided the part their district reviewed first."""
    reply = reply_for(
        Outcome.APPROVED,
        part("market", Outcome.APPROVED, document_number="M-1", decided_by_center="杭州市民中心（市行政服务中心）"),
    )
    assert (
        "- market事项（市场监督管理局），由杭州市民中心（市行政服务中心）决定：准予，文书编号 M-1" in reply.message.splitlines()
    )
