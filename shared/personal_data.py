"""Applicants' personal data: masked in answers (身份证号 3301**********1234) for every caller who has no
need to see it whole (supervision, statistics, timelines), and compared by digest where it must not be
kept (an applicant's token, a case's query code)."""

from __future__ import annotations

import hashlib
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


def id_number_digest(id_number: str) -> str:
    """How an applicant's ID number is compared without being kept."""
    return hashlib.sha256(f"lianban-applicant\n{id_number.strip().upper()}".encode()).hexdigest()


def query_code_digest(case_id: str, code: str) -> str:
    """How a case's query code (查询码) travels and is kept outside intake: hashed with its case."""
    return hashlib.sha256(f"lianban-query-code\n{case_id}\n{code.strip().upper()}".encode()).hexdigest()
