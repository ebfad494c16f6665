"""Whatever anyone does, in any order: a case is final or names the department that owes the next
step, and a refused action changes nothing."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Refused
from shared.contracts import (
    Accept,
    Approve,
    DecideExtension,
    Deny,
    Refuse,
    RequestExtension,
    RequestSupplement,
    RequireRectification,
    Resume,
    SupplementItem,
    Suspend,
    SuspensionKind,
)
from tests.builders import a_case, at

DEPARTMENTS = ["market", "fire", "tax", "planning"]  # planning has no part in this case

actions = st.one_of(
    st.just(Accept()),
    st.builds(
        lambda m: RequestSupplement(items=[SupplementItem(material=m, reason="不清晰")]),
        st.sampled_from(["经营场所平面图", "场所消防安全制度", "财务负责人信息"]),
    ),
    st.sampled_from([Refuse(reason="不符合条件", legal_basis="某法第一条"), Refuse(reason="无依据")]),
    st.sampled_from([Approve(document_number="D-1"), Approve()]),
    st.sampled_from([Deny(legal_basis="某法第二条", reason="不符合"), Deny(reason="无依据")]),
    st.just(RequireRectification(items=["整改一项"])),
    st.sampled_from(
        [
            Suspend(suspension_kind=SuspensionKind.EXPERT_REVIEW, applicant_notified_on=date(2026, 11, 24)),
            Suspend(suspension_kind=SuspensionKind.HEARING),
        ]
    ),
    st.just(Resume()),
    st.just(RequestExtension(days=3, reason="复杂")),
    st.sampled_from(
        [
            DecideExtension(approved=True, approver_name="李强", approver_title="局长"),
            DecideExtension(approved=False, approver_name="李强", approver_title="局长"),
            DecideExtension(approved=True),
        ]
    ),
)

steps = st.one_of(
    st.tuples(st.just("department"), st.sampled_from(DEPARTMENTS), actions),
    st.tuples(st.just("supplement"), st.booleans(), st.none()),
    st.tuples(st.just("deliver"), st.none(), st.none()),
    st.tuples(st.just("evaluate"), st.integers(min_value=0, max_value=6), st.none()),
)


def run(case: JointCase, step: tuple[str, object, object], minute: int) -> None:
    kind, arg, action = step
    if kind == "department":
        case.act(arg, "staff", action, at(minute))  # type: ignore[arg-type]
    elif kind == "supplement":
        asked = {p.department: {i.material: "doc://new" for i in p.supplement_items} for p in case.parts if p.supplement_items}
        case.supplement(asked if arg else {}, "S-0107", at(minute))
    elif kind == "deliver":
        case.deliver("窗口领取", "S-0107", at(minute))
    else:
        case.evaluate(arg, None, at(minute))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, max_size=40))
def test_no_sequence_leaves_a_case_without_a_final_state_or_a_named_department_that_owes(sequence) -> None:  # type: ignore[no-untyped-def]
    case = a_case()
    was_final = False
    for minute, step in enumerate(sequence, 1):
        before = case.model_copy(deep=True)
        try:
            run(case, step, minute)
        except Refused:
            assert case == before, f"refused {step} changed the case"
        owed = case.owes_next_step()
        assert case.is_final or owed, f"{case.state}: nobody owes the next step"
        assert set(owed) <= {p.department for p in case.parts}
        assert not (was_final and not case.is_final), "a final case reopened"
        was_final = case.is_final
