"""One ferry bundle: a signed manifest and its entries, in one file written atomically.

A one-way ferry gives no answer and may lose, repeat or reorder files, so each bundle says who sent it,
for whom, its place in the sender's sequence (1, 2, 3…, no gaps) and the SHA-256 of every entry; the
manifest is signed like a department's action (shared/signing.py). A reader gets the verified entries
or a BundleError saying, in Chinese first, why the file is not taken.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.canonical import canonical_json
from shared.signing import KeyRegistry, Signer

FORMAT = 1
SUFFIX = ".bundle"
NAME = re.compile(r"^(?P<sender>[A-Za-z0-9_.-]+)-(?P<seq>[0-9]{10})\.bundle$")


class BundleError(ValueError):
    """The file is not a bundle this side takes; `seq` is what it claimed to be, if anything."""

    def __init__(self, reason: str, seq: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.seq = reason, seq


@dataclass(frozen=True)
class Bundle:
    manifest: dict[str, Any]
    entries: list[dict[str, Any]]
    digest: str  # SHA-256 of the signed manifest: the same bundle written again has the same digest

    @property
    def seq(self) -> int:
        return int(self.manifest["seq"])

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created_at"])


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def file_name(sender: str, seq: int) -> str:
    """`center_demo_fire-0000000007.bundle`: the sender as a file name may spell it, then the sequence."""
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', sender)}-{seq:010d}{SUFFIX}"


def seq_of(name: str) -> int | None:
    """The sequence number a file name claims, for a file that cannot be read."""
    found = NAME.match(name)
    return int(found["seq"]) if found else None


def encode(
    signer: Signer, *, sender: str, recipient: str, seq: int, created_at: datetime, entries: list[dict[str, Any]]
) -> bytes:
    manifest = {
        "format": FORMAT,
        "sender": sender,
        "recipient": recipient,
        "seq": seq,
        "created_at": created_at.isoformat(),
        "count": len(entries),
        "entries": [sha256(e) for e in entries],
    }
    signed = json.loads(signer.sign_event(manifest))
    return canonical_json({"manifest": signed, "entries": entries})


def decode(raw: bytes, registry: KeyRegistry, department: str, *, sender: str, recipient: str) -> Bundle:
    """The bundle, checked: signed by a key registered for `department`, from `sender` to `recipient`, every
    entry as the manifest counts and hashes it."""
    manifest, entries = _parts(raw)
    seq = manifest.get("seq") if isinstance(manifest.get("seq"), int) else None
    if refusal := registry.check(manifest, department):
        raise BundleError(refusal, seq)
    if manifest.get("format") != FORMAT or seq is None or seq < 1:
        raise BundleError(f"清单格式不符 (not a format {FORMAT} manifest with a positive seq)", seq)
    if (manifest.get("sender"), manifest.get("recipient")) != (sender, recipient):
        got = f"{manifest.get('sender')} → {manifest.get('recipient')}"
        raise BundleError(f"收发方不符 {got} (not from {sender} to {recipient})", seq)
    if manifest.get("count") != len(entries) or len(manifest.get("entries") or []) != len(entries):
        raise BundleError(f"条目数不符 (count {manifest.get('count')}, {len(entries)} entries)", seq)
    for n, (entry, expected) in enumerate(zip(entries, manifest["entries"], strict=True)):
        if sha256(entry) != expected:
            raise BundleError(f"第 {n + 1} 条内容与清单的校验值不符 (entry {n + 1} does not match its SHA-256)", seq)
    return Bundle(manifest, entries, sha256(manifest))


def _parts(raw: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise BundleError("不是摆渡包：不是 JSON (not a bundle: not JSON)") from None
    if not isinstance(body, dict) or not isinstance(body.get("manifest"), dict) or not isinstance(body.get("entries"), list):
        raise BundleError("不是摆渡包：缺少清单或条目 (not a bundle: no manifest and entries)")
    if not all(isinstance(e, dict) for e in body["entries"]):
        raise BundleError("不是摆渡包：条目不是对象 (not a bundle: an entry is not an object)")
    return body["manifest"], body["entries"]


def write_atomic(directory: Path, name: str, raw: bytes) -> Path:
    """Written under a temporary name, flushed, then renamed: a reader never sees half a bundle."""
    directory.mkdir(parents=True, exist_ok=True)
    target, temporary = directory / name, directory / f".{name}.tmp"
    with temporary.open("wb") as out:
        out.write(raw)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)
    return target
