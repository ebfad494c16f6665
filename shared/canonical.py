"""Canonical JSON: keys sorted at every level, no whitespace, non-ASCII as itself, UTF-8. What a hash or a
signature covers, so that anyone recomputes it with any JSON library (docs/evidence.md, docs/integration.md)."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
