"""The joint-handling rules, path by path: one receives, all are told, all accept at once, done in time."""

from __future__ import annotations

from datetime import date

import pytest

from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Refused
from shared.contracts import (
    Accept,
    Approve,
    CaseAccepted,
    CaseConcluded,
    CaseNotAccepted,
    CaseState,
    DecideExtension,
    Deny,
    EventData,
    HandlingStarted,
    Outcome,
    PartState,
    Refuse,
    RequestExtension,
    RequestSupplement,
    RequireRectification,
    Resume,
    SupplementItem,
    SupplementRequested,
    Suspend,
    SuspensionKind,
    WorkClosed,
    WorkOrder,
)
from tests.builders import a_case, at

DEPARTMENTS = ("market", "fire", "tax")


def all_accept(case: JointCase, minutes: int = 1) -> list[EventData]:
    events: list[EventData] = []
    for dept in DEPARTMENTS:
        events += case.act(dept, f"{dept}-01", Accept(), at(minutes))
    return events


def state_of(case: JointCase) -> CaseState:
    return case.state


def test_all_departments_accept_then_all_approve() -> None:
    case = a_case()
    assert case.owes_next_step() == ["market", "fire", "tax"]
    events = all_accept(case)
    assert case.state is CaseState.HANDLING
    assert isinstance(events[-4], CaseAccepted)
    assert [e.department for e in events if isinstance(e, HandlingStarted)] == list(DEPARTMENTS)
    for n, dept in enumerate(DEPARTMENTS):
        events = case.act(dept, f"{dept}-01", Approve(document_number=f"{dept.upper()}-{n}"), at(10 + n))
    concluded = events[-1]
    assert isinstance(concluded, CaseConcluded)
    assert concluded.outcome is Outcome.APPROVED
    assert [p.document_number for p in concluded.parts] == ["MARKET-0", "FIRE-1", "TAX-2"]
    assert case.is_final
    assert case.owes_next_step() == []


def test_supplements_are_merged_into_one_notice_and_the_same_case_resumes() -> None:
    case = a_case()
    case.act("market", "m-01", RequestSupplement(items=[SupplementItem(material="经营场所平面图", reason="未标注面积")]), at(1))
    case.act("fire", "f-01", RequestSupplement(items=[SupplementItem(material="场所消防安全制度", reason="缺疏散预案")]), at(2))
    [*_, notice] = case.act("tax", "t-01", Accept(), at(3))
    assert isinstance(notice, SupplementRequested)
    assert [(i.department, i.material) for i in notice.items] == [("market", "经营场所平面图"), ("fire", "场所消防安全制度")]
    assert "一次性告知" in notice.notice
    assert "经营场所平面图（市场监督管理局）：未标注面积" in notice.notice  # departments named as the applicant knows them
    assert "（fire）" not in notice.notice
    assert case.state is CaseState.AWAITING_SUPPLEMENT
    assert case.owes_next_step() == ["market"]  # the lead window takes the applicant's supplement

    with pytest.raises(Refused, match="补正材料不全"):
        case.supplement({"market": {"经营场所平面图": "doc://v2"}}, "S-0107", at(5))
    events = case.supplement(
        {"market": {"经营场所平面图": "doc://v2"}, "fire": {"场所消防安全制度": "doc://v2"}}, "S-0107", at(6)
    )
    reissued = [e for e in events if isinstance(e, WorkOrder)]
    assert [(w.department, w.round) for w in reissued] == [("market", 2), ("fire", 2)]
    assert reissued[0].materials["经营场所平面图"] == "doc://v2"
    assert state_of(case) is CaseState.PRE_REVIEW  # (a call: the type checker would keep the narrowing above)
    assert case.part_of("tax").state is PartState.PRE_ACCEPTED  # tax does not review again
    case.act("market", "m-01", Accept(), at(7))
    case.act("fire", "f-01", Accept(), at(8))
    assert state_of(case) is CaseState.HANDLING


def test_one_refusal_at_pre_review_means_not_accepted_with_every_reason() -> None:
    case = a_case()
    case.act("market", "m-01", Accept(), at(1))
    case.act("fire", "f-01", Refuse(reason="场所位于地下二层，不得用于餐饮", legal_basis="《消防法》第十九条"), at(2))
    events = case.act("tax", "t-01", Accept(), at(3))
    not_accepted = next(e for e in events if isinstance(e, CaseNotAccepted))
    assert [(r.department, r.legal_basis) for r in not_accepted.reasons] == [("fire", "《消防法》第十九条")]
    assert case.state is CaseState.NOT_ACCEPTED
    concluded = next(e for e in events if isinstance(e, CaseConcluded))
    assert concluded.outcome is Outcome.NOT_ACCEPTED
    closed = [e for e in events if isinstance(e, WorkClosed)]  # the others' work items do not stay open forever
    assert [(c.department, c.case_state) for c in closed] == [("market", CaseState.NOT_ACCEPTED), ("tax", CaseState.NOT_ACCEPTED)]
    assert all("消防救援支队不予受理" in c.reason for c in closed)


def test_one_denial_in_handling_denies_the_case_with_its_basis() -> None:
    case = a_case()
    all_accept(case)
    case.act("market", "m-01", Approve(document_number="JY-1"), at(10))
    case.act("tax", "t-01", Approve(document_number="TAX-1"), at(11))
    [*_, concluded] = case.act(
        "fire",
        "f-01",
        Deny(legal_basis="《消防法》第十五条", reason="疏散通道不足", written_opinion="经现场检查，不符合消防技术标准"),
        at(12),
    )
    assert isinstance(concluded, CaseConcluded)
    assert concluded.outcome is Outcome.DENIED
    fire = next(p for p in concluded.parts if p.department == "fire")
    assert (fire.reason, fire.legal_basis) == ("疏散通道不足", "《消防法》第十五条")


def test_rectification_concludes_the_case_awaiting_a_second_application() -> None:
    case = a_case()
    all_accept(case)
    case.act("market", "m-01", Approve(document_number="JY-1"), at(10))
    case.act("tax", "t-01", Approve(document_number="TAX-1"), at(11))
    [*_, concluded] = case.act("fire", "f-01", RequireRectification(items=["增设应急照明", "清理疏散通道"]), at(12))
    assert concluded.outcome is Outcome.RECTIFICATION_REQUIRED  # type: ignore[attr-defined]
    assert concluded.parts[1].rectification_items == ["增设应急照明", "清理疏散通道"]  # type: ignore[attr-defined]


def test_suspension_for_expert_review_then_decision() -> None:
    case = a_case()
    all_accept(case)
    suspend = Suspend(suspension_kind=SuspensionKind.EXPERT_REVIEW, applicant_notified_on=date(2026, 11, 24))
    case.act("fire", "f-01", suspend, at(10))
    assert case.part_of("fire").state is PartState.SUSPENDED
    with pytest.raises(Refused, match="suspended"):
        case.act("fire", "f-01", Approve(document_number="F-1"), at(11))
    case.act("fire", "f-01", Resume(), at(20))
    suspension = case.part_of("fire").suspensions[0]
    assert (suspension.started_at, suspension.ended_at) == (at(10), at(20))
    case.act("fire", "f-01", Approve(document_number="F-1"), at(21))
    assert case.part_of("fire").state is PartState.APPROVED


def test_a_suspension_needs_the_date_the_applicant_was_told() -> None:
    case = a_case()
    all_accept(case)
    with pytest.raises(Refused, match="告知"):
        case.act("fire", "f-01", Suspend(suspension_kind=SuspensionKind.HEARING), at(10))


def test_extension_requested_approved_by_a_named_head_then_decided() -> None:
    case = a_case()
    all_accept(case)
    case.act("fire", "f-01", RequestExtension(days=5, reason="需现场复查"), at(10))
    with pytest.raises(Refused, match="named department head"):
        case.act("fire", "f-01", DecideExtension(approved=True), at(11))
    case.act("fire", "f-01", DecideExtension(approved=True, approver_name="李强", approver_title="支队长"), at(12))
    extension = case.part_of("fire").extensions[0]
    assert (extension.approved, extension.approver_name) == (True, "李强")
    case.act("fire", "f-01", Approve(document_number="F-1"), at(13))
    assert case.part_of("fire").state is PartState.APPROVED


@pytest.mark.parametrize(
    ("department", "action", "reason"),
    [
        ("fire", Approve(document_number="F-1"), "not accepted yet"),  # a decision before acceptance
        ("planning", Accept(), "no part"),  # a department with no part in the case
        ("fire", Refuse(reason="材料不全"), "legal basis"),  # a refusal without its legal basis
    ],
)
def test_actions_the_rules_do_not_allow_are_refused_and_change_nothing(department, action, reason) -> None:  # type: ignore[no-untyped-def]
    case = a_case()
    before = case.model_copy(deep=True)
    with pytest.raises(Refused, match=reason):
        case.act(department, "x-01", action, at(1))
    assert case == before


def test_a_second_decision_by_the_same_department_is_refused() -> None:
    case = a_case()
    all_accept(case)
    case.act("tax", "t-01", Approve(document_number="TAX-1"), at(10))
    with pytest.raises(Refused, match="already decided"):
        case.act("tax", "t-01", Deny(legal_basis="x", reason="y"), at(11))


def test_delivery_and_evaluation_after_conclusion() -> None:
    case = a_case()
    with pytest.raises(Refused):
        case.evaluate(5, None, at(1))
    all_accept(case)
    for dept in DEPARTMENTS:
        case.act(dept, "s", Approve(document_number=f"{dept}-1", documents=[f"{dept}证照"]), at(10))
    [delivered] = case.deliver("窗口领取", "S-0107", at(20))
    assert delivered.documents == ["market证照", "fire证照", "tax证照"]  # type: ignore[attr-defined]
    with pytest.raises(Refused, match="差评须说明理由"):
        case.evaluate(1, None, at(21))
    case.evaluate(2, "等候时间过长", at(21))
    assert case.evaluation is not None
    assert case.evaluation.score == 2


def test_only_supervision_issues_a_deemed_approval_after_deadline_and_urging() -> None:
    from datetime import timedelta

    from shared.contracts import DeemedApproval

    case = a_case()
    all_accept(case)
    deadline = at(10)
    deemed = DeemedApproval(
        document_number="默许-LB1-tax", deadline=deadline, urged_at=[deadline + timedelta(minutes=1)], silent_since=at(1)
    )
    with pytest.raises(Refused, match="only supervision"):
        case.act("tax", "t-01", deemed, at(20))
    early = deemed.model_copy(update={"urged_at": [deadline - timedelta(minutes=1)]})
    with pytest.raises(Refused, match="follows the deadline"):
        case.act("tax", "supervision", early, at(20))
    case.act("tax", "supervision", deemed, at(20))
    case.act("market", "m", Approve(document_number="JY-1"), at(21))
    [*_, concluded] = case.act("fire", "f", Approve(document_number="F-1"), at(22))
    tax = next(p for p in concluded.parts if p.department == "tax")  # type: ignore[attr-defined]
    assert tax.deemed
    [delivered] = case.deliver("窗口领取", "S-0107", at(30))
    assert "默许-LB1-tax" in delivered.documents  # type: ignore[attr-defined]
