"""docs/evidence.md's offline procedure, written out again with nothing from Lianban: json, hashlib and
`cryptography` for Ed25519. What a third party does with an exported case."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def verify_chain_offline(evidence: dict[str, Any]) -> list[str]:
    """docs/evidence.md, step by step, with nothing from Lianban."""
    problems, previous = [], "0" * 64
    for number, entry in enumerate(evidence["entries"], 1):
        covered = {k: entry[k] for k in ("case_id", "sequence", "event_id", "event_type", "occurred_at", "department", "summary")}
        covered["previous_hash"] = entry["previous_hash"]
        text = json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if entry["sequence"] != number or entry["previous_hash"] != previous:
            problems.append(f"entry {number} does not follow the one before")
        if hashlib.sha256(text.encode()).hexdigest() != entry["entry_hash"]:
            problems.append(f"entry {number} does not hash to its entry_hash")
        if hashlib.sha256((entry["ledger_previous"] + entry["entry_hash"]).encode()).hexdigest() != entry["ledger_hash"]:
            problems.append(f"entry {number} is not linked into the ledger")
        previous = entry["entry_hash"]
    return problems


def base64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_signatures_offline(evidence: dict[str, Any]) -> list[str]:
    """docs/evidence.md, "Checking the signatures", with nothing from Lianban but the export."""
    keys = {k["key_id"]: k for k in evidence["keys"]}
    problems = []
    for entry in evidence["entries"]:
        signed = entry["summary"].get("signed_event")
        if signed is None:
            continue
        key = keys.get(signed["lbsigkey"])
        if key is None or key["department"] != entry["department"] or key["algorithm"] != signed["lbsigalg"]:
            problems.append(f"entry {entry['sequence']} is signed with a key not registered for {entry['department']}")
            continue
        covered = {k: v for k, v in signed.items() if k != "lbsig"}
        text = json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        public = Ed25519PublicKey.from_public_bytes(
            base64.urlsafe_b64decode(key["public_key"] + "=" * (-len(key["public_key"]) % 4))
        )
        try:
            public.verify(base64.urlsafe_b64decode(signed["lbsig"] + "=" * (-len(signed["lbsig"]) % 4)), text)
        except InvalidSignature:
            problems.append(f"entry {entry['sequence']}: the signature does not match the signed action")
            continue
        data, recorded = signed["data"], entry["summary"]["action"]
        same = data["case_id"] == entry["case_id"] and data["department"] == entry["department"]
        same &= data["staff_id"] == entry["summary"]["staff_id"]
        same &= all(recorded.get(k) == v for k, v in data["action"].items())
        same &= not any(v for k, v in recorded.items() if k not in data["action"])  # what was not signed is a default
        if not same:
            problems.append(f"entry {entry['sequence']} says other than the action its department signed")
    return problems
