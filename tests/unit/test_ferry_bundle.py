"""A ferry bundle is taken only as its sender signed it: any change to an entry or to the manifest, a
missing signature or a key not registered for the department, and the reader says why. A receiver applies
bundles in order and once: a repeat is ignored, another bundle under an applied number is a conflict,
one that comes early waits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.canonical import canonical_json
from shared.ferry import bundle
from shared.ferry.bundle import BundleError
from shared.ferry.receiver import Verdict, classify, expecting, missing
from shared.signing import KeyRegistry, Signer
from tests.keys import registered_keys

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CENTER, FIRE = "center:demo/fire", "department:fire"
ENTRIES = [
    {"kind": "receipt", "item": "LB1-fire#review1", "received_at": "2026-11-23T01:00:00+00:00"},
    {
        "kind": "acknowledgement",
        "item": "LB1-fire#notice-AL-9",
        "staff_id": "消防-值班-01",
        "acknowledged_at": "2026-11-23T01:05:00+00:00",
    },
]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[dict[str, Signer], KeyRegistry]:
    return registered_keys(tmp_path, "fire", "tax")


def written(signer: Signer, seq: int = 7, entries: list[dict[str, Any]] | None = None) -> bytes:
    return bundle.encode(
        signer, sender=FIRE, recipient=CENTER, seq=seq, created_at=T0, entries=ENTRIES if entries is None else entries
    )


def read(raw: bytes, registry: KeyRegistry, department: str = "fire") -> bundle.Bundle:
    return bundle.decode(raw, registry, department, sender=FIRE, recipient=CENTER)


def altered(raw: bytes, change: Any) -> bytes:
    body = json.loads(raw)
    change(body)
    return canonical_json(body)


def why(raw: bytes, registry: KeyRegistry) -> tuple[str, int | None]:
    with pytest.raises(BundleError) as refused:
        read(raw, registry)
    return refused.value.reason, refused.value.seq


def test_a_bundle_reads_back_as_written_with_its_number_time_and_entries(keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    signers, registry = keys
    raw = written(signers["fire"])

    got = read(raw, registry)

    assert (got.seq, got.created_at, got.entries) == (7, T0, ENTRIES)
    assert (got.manifest["count"], got.manifest["sender"]) == (2, FIRE)
    assert got.digest == read(written(signers["fire"]), registry).digest  # written again: byte-identical, the same digest


def test_a_bundle_is_one_file_named_by_sender_and_number_written_atomically(
    tmp_path: Path, keys: tuple[dict[str, Signer], KeyRegistry]
) -> None:
    name = bundle.file_name(FIRE, 7)
    path = bundle.write_atomic(tmp_path / "out", name, written(keys[0]["fire"]))

    assert name == "department_fire-0000000007.bundle"
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left behind
    assert bundle.seq_of(name) == 7


def test_an_altered_entry_is_refused_naming_it(keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    signers, registry = keys
    raw = altered(written(signers["fire"]), lambda b: b["entries"][1].update(staff_id="someone-else"))

    assert why(raw, registry) == ("第 2 条内容与清单的校验值不符 (entry 2 does not match its SHA-256)", 7)


def test_an_entry_added_or_removed_is_refused_as_a_count_mismatch(keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    signers, registry = keys
    raw = altered(written(signers["fire"]), lambda b: b["entries"].pop())

    assert why(raw, registry)[0] == "条目数不符 (count 2, 1 entries)"


def test_an_altered_manifest_breaks_its_signature(keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    signers, registry = keys
    raw = altered(written(signers["fire"]), lambda b: b["manifest"].update(seq=8))

    assert why(raw, registry) == ("签名无效：消息在签名后被改动或密钥不符 (the signature does not match the event)", 8)


def test_an_unsigned_bundle_is_refused(keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    signers, registry = keys
    raw = altered(written(signers["fire"]), lambda b: b["manifest"].pop("lbsig"))

    assert why(raw, registry)[0] == "未签名 (the action is not signed)"


def test_a_bundle_signed_with_another_departments_key_is_refused(keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    signers, registry = keys

    assert why(written(signers["tax"]), registry)[0] == "签名密钥 tax-1 未登记为 fire 的密钥 (not a registered key of fire)"


def test_a_bundle_for_another_recipient_is_refused(keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    signers, registry = keys
    raw = bundle.encode(signers["fire"], sender=FIRE, recipient="center:demo/tax", seq=1, created_at=T0, entries=[])

    assert why(raw, registry)[0].startswith("收发方不符")


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"manifest": {}, "entries": [1]}'], ids=["text", "list", "entry"])
def test_a_file_that_is_not_a_bundle_is_refused(raw: bytes, keys: tuple[dict[str, Signer], KeyRegistry]) -> None:
    assert why(raw, keys[1])[0].startswith("不是摆渡包")


def test_the_next_bundle_applies_a_repeat_is_a_duplicate_and_another_under_an_applied_number_a_conflict() -> None:
    applied = {1: "aa", 2: "bb"}

    assert classify(3, "cc", 3, applied) == Verdict.APPLY
    assert classify(2, "bb", 3, applied) == Verdict.DUPLICATE
    assert classify(2, "XX", 3, applied) == Verdict.CONFLICT


def test_a_bundle_after_a_gap_is_held_until_the_gap_is_filled_or_waived() -> None:
    assert classify(5, "ee", 3, {1: "aa", 2: "bb"}) == Verdict.HOLD
    assert missing(3, [5, 6]) == [3, 4]
    assert (expecting([1, 2, 3, 4, 5]), expecting([1, 2, 4])) == (6, 3)
    waived = {1: "aa", 2: "bb", 3: None, 4: None}
    assert classify(5, "ee", expecting(waived), waived) == Verdict.APPLY
    assert classify(3, "cc", 6, waived) == Verdict.LATE  # a waived one that came after all
