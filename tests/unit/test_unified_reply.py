"""The gateway replies once, when every department has decided, stating each department's result."""

from datetime import UTC, datetime

from services.gateway.domain.reply import PartState, unified_reply
from shared.contracts import Outcome

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def part(dept: str, outcome: Outcome | None, **kw: str) -> PartState:
    return PartState(f"LB1-{dept}", dept, f"{dept.upper()}-1", f"{dept}事项", outcome, decided_at=NOW if outcome else None,
                     **kw)  # type: ignore[arg-type]


def test_no_reply_while_a_department_has_not_decided() -> None:
    parts = [part("market", Outcome.APPROVED, document_number="M-1"), part("tax", None)]
    assert unified_reply("LB1", "企业设立登记联办", parts, NOW) is None


def test_all_approved_gives_an_approval_with_every_document() -> None:
    parts = [part("market", Outcome.APPROVED, document_number="M-1"), part("tax", Outcome.APPROVED, document_number="T-9")]
    reply = unified_reply("LB1", "企业设立登记联办", parts, NOW)
    assert reply is not None
    assert reply.outcome is Outcome.APPROVED
    assert "各部门均准予许可" in reply.message
    assert "M-1" in reply.message
    assert "T-9" in reply.message
    assert [p.department for p in reply.parts] == ["market", "tax"]


def test_one_denial_denies_the_case_and_states_its_reason_and_legal_basis() -> None:
    parts = [part("market", Outcome.APPROVED, document_number="M-1"),
             part("fire", Outcome.DENIED, legal_basis="《消防法》第十五条", reason="疏散通道不足")]
    reply = unified_reply("LB1", "餐饮店开业联办", parts, NOW)
    assert reply is not None
    assert reply.outcome is Outcome.DENIED
    assert "疏散通道不足" in reply.message
    assert "《消防法》第十五条" in reply.message
