"""A department's signature over an event: verified against the key the center registered for it;
unsigned, another department's key, an unregistered key or a change after signing is refused."""

import json
from pathlib import Path

import pytest

from shared.signing import KeyRegistry, Signer, new_key_pair
from tests.keys import registered_keys

EVENT = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/tax/approval",
    "type": "cn.lianban.department.action.v1",
    "subject": "LB1",
    "time": "2026-11-23T09:30:00Z",
    "datacontenttype": "application/json",
    "data": {"case_id": "LB1", "department": "tax", "action": {"kind": "approve", "document_number": "税-1"}},
}


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Signer, Signer, KeyRegistry]:
    signers, registry = registered_keys(tmp_path, "tax", "fire")
    return signers["tax"], signers["fire"], registry


def test_a_signed_event_verifies_and_any_change_after_signing_does_not(keys: tuple[Signer, Signer, KeyRegistry]) -> None:
    tax, _, registry = keys
    signed = tax.sign(json.dumps(EVENT).encode())
    assert registry.refusal(signed, "tax") is None
    assert registry.refusal(json.dumps(json.loads(signed), indent=2).encode(), "tax") is None  # whitespace is not content
    altered = json.loads(signed)
    altered["data"]["action"]["document_number"] = "税-2"
    assert "签名无效" in (registry.refusal(json.dumps(altered).encode(), "tax") or "")


def test_unsigned_or_signed_with_another_departments_or_an_unregistered_key_is_refused(
    keys: tuple[Signer, Signer, KeyRegistry], tmp_path: Path
) -> None:
    _, fire, registry = keys
    assert "未签名" in (registry.refusal(json.dumps(EVENT).encode(), "tax") or "")
    assert "未登记为 tax" in (registry.refusal(fire.sign(json.dumps(EVENT).encode()), "tax") or "")
    stranger_key, _ = new_key_pair(tmp_path / "stranger", "tax")
    assert "未登记为 tax" in (registry.refusal(Signer.load(stranger_key, "tax-9").sign(json.dumps(EVENT).encode()), "tax") or "")
    forged_under_taxs_id = Signer.load(stranger_key, "tax-1").sign(json.dumps(EVENT).encode())
    assert "签名无效" in (registry.refusal(forged_under_taxs_id, "tax") or "")
