"""Idempotency-Keys, scoped to what they protect and kept hashed (fixed size, however long a key):
a filing's to the window that sent it, a department action's to its work order. A key sent again
with the same request does nothing twice; with another request it is a conflict."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


class IdempotencyConflict(ValueError):
    """The same Idempotency-Key came with a different request."""


def digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def filing_key(window_id: str, key: str | None) -> str | None:
    return digest(window_id, key) if key else None


@dataclass(frozen=True)
class ActionKey:
    """A department action's key: scoped to its work order, with this very request, and as release
    0.1.0 recorded it (`department:key`), so a retry across the upgrade still does nothing twice."""

    key: str
    request: str
    legacy: str

    @classmethod
    def of(cls, work_order_id: str, department: str, key: str | None, request: str) -> ActionKey | None:
        if not key:
            return None
        return cls(digest(work_order_id, key), digest(work_order_id, key, request), f"{department}:{key}")
