"""Detached signatures over CloudEvents, so that a department's decision carries its own proof of who
made it, beyond the topic it came on (X-Road signs every message the same way).

The signature covers the event as its sender wrote it: the JSON object without `lbsig`, keys sorted at
every level, no whitespace, UTF-8 (docs/integration.md, "Signing"). Three CloudEvents extension
attributes carry it: `lbsigalg` (the algorithm), `lbsigkey` (the key id in the center's key registry)
and `lbsig` (the signature, base64url without padding). Algorithms are pluggable: Ed25519 here; a
center that must use SM2/SM3 registers another under its own name."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.canonical import canonical_json
from shared.private_files import write_private

SIGNATURE, KEY_ID, ALGORITHM = "lbsig", "lbsigkey", "lbsigalg"


class Algorithm(Protocol):
    def sign(self, private_key: bytes, message: bytes) -> bytes: ...
    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool: ...


class Ed25519:
    """Raw 32-byte keys, 64-byte signatures (RFC 8032). A key is loaded once, not per message (the bench
    showed an adapter loading its key again for every action it signed)."""

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        return _ed25519_private(private_key).sign(message)

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        try:
            _ed25519_public(public_key).verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False


@functools.lru_cache(maxsize=64)
def _ed25519_private(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


@functools.lru_cache(maxsize=1024)  # a center's registered keys
def _ed25519_public(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


ALGORITHMS: dict[str, Algorithm] = {"ed25519": Ed25519()}


def signed_bytes(event: dict[str, Any]) -> bytes:
    """What a signature covers: the event without its signature, canonical JSON."""
    return canonical_json({k: v for k, v in event.items() if k != SIGNATURE})


def signed_event(raw: bytes) -> dict[str, Any] | None:
    """The event as its sender wrote it, if it carries a signature (whether or not the signature holds)."""
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) and event.get(SIGNATURE) else None


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Signer:
    """A sender's private key and the id the center registered its public key under."""

    key_id: str
    private_key: bytes
    algorithm: str = "ed25519"

    @classmethod
    def load(cls, path: Path, key_id: str) -> Signer:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        return cls(key_id, raw)

    def sign(self, event: bytes) -> bytes:
        """The event's bytes with the three signature attributes added."""
        return self.sign_event(json.loads(event))

    def sign_event(self, event: dict[str, Any]) -> bytes:
        """`sign` of an event not serialised yet (the outbox's): its bytes, signed."""
        body = event | {KEY_ID: self.key_id, ALGORITHM: self.algorithm}
        body[SIGNATURE] = b64(ALGORITHMS[self.algorithm].sign(self.private_key, signed_bytes(body)))
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    department: str
    algorithm: str
    key: bytes


class KeyRegistry:
    """The center's registered public keys, per department: a JSON file
    `{"<department>": [{"key_id": "...", "algorithm": "ed25519", "public_key": "<base64url>"}]}`."""

    def __init__(self, keys: dict[str, PublicKey]) -> None:
        self.keys = keys

    @classmethod
    def load(cls, path: Path) -> KeyRegistry:
        raw: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))
        keys = {
            k["key_id"]: PublicKey(k["key_id"], department, k.get("algorithm", "ed25519"), unb64(k["public_key"]))
            for department, entries in raw.items()
            for k in entries
        }
        return cls(keys)

    def refusal(self, raw: bytes, department: str) -> str | None:
        """Why this event is not signed by one of the department's registered keys, or None if it is."""
        try:
            event = json.loads(raw)
        except ValueError:
            return "不是 JSON (not JSON)"
        return self.check(event, department)

    def check(self, event: Any, department: str) -> str | None:
        """`refusal` of an event already read."""
        if not isinstance(event, dict) or not event.get(SIGNATURE):
            return "未签名 (the action is not signed)"
        key = self.keys.get(str(event.get(KEY_ID)))
        if key is None or key.department != department:
            return f"签名密钥 {event.get(KEY_ID)} 未登记为 {department} 的密钥 (not a registered key of {department})"
        algorithm = ALGORITHMS.get(str(event.get(ALGORITHM)))
        if algorithm is None or event.get(ALGORITHM) != key.algorithm:
            return f"签名算法 {event.get(ALGORITHM)} 与登记不符 (not the key's algorithm)"
        try:
            signature = unb64(str(event[SIGNATURE]))
        except ValueError:
            return "签名格式错误 (the signature is not base64url)"
        if not algorithm.verify(key.key, signature, signed_bytes(event)):
            return "签名无效：消息在签名后被改动或密钥不符 (the signature does not match the event)"
        return None


def new_key_pair(directory: Path, name: str) -> tuple[Path, str]:
    """A new Ed25519 key in `directory/<name>.pem` (owner only) and its public key, base64url."""
    key = Ed25519PrivateKey.generate()
    path = directory / f"{name}.pem"
    directory.mkdir(parents=True, exist_ok=True)
    write_private(
        path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return path, b64(public)
