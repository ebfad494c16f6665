"""Applicants' personal data in answers: ID numbers and phones masked (身份证号 3301**********1234) for
every caller who has no need to see them whole (supervision, statistics, timelines)."""

from __future__ import annotations

from typing import Any

MASKED_FIELDS = {"id_number": (4, 4), "phone": (3, 4)}  # characters kept at the start and at the end


def mask(value: str, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]


def masked(data: Any) -> Any:
    """The same data with every `id_number` and `phone` field masked, however deep."""
    if isinstance(data, dict):
        return {
            k: mask(v, *MASKED_FIELDS[k]) if k in MASKED_FIELDS and isinstance(v, str) else masked(v) for k, v in data.items()
        }
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data
