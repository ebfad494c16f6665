"""What a receiver does with a verified bundle, given what it has applied: bundles are applied in the
sender's order, each exactly once, whatever the ferry lost, repeated or reordered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class Verdict(StrEnum):
    APPLY = "apply"  # the next in sequence
    DUPLICATE = "duplicate"  # applied already, the same bundle: ignored
    CONFLICT = "conflict"  # applied already, another bundle under the same number: a tamper alert
    HOLD = "hold"  # later than the next: kept until the gap is filled or waived
    LATE = "late"  # its number was waived, then it came after all: applied (every entry is idempotent)


def classify(seq: int, digest: str, expecting: int, known: Mapping[int, str | None]) -> Verdict:
    """`known`: each sequence number applied (its digest) or waived (None)."""
    if seq in known:
        applied = known[seq]
        if applied is None:
            return Verdict.LATE
        return Verdict.DUPLICATE if applied == digest else Verdict.CONFLICT
    return Verdict.HOLD if seq > expecting else Verdict.APPLY


def expecting(done: Iterable[int], start: int = 1) -> int:
    """The first sequence number from `start` neither applied nor waived."""
    seen, n = set(done), start
    while n in seen:
        n += 1
    return n


def missing(expected: int, held: Iterable[int]) -> list[int]:
    """The numbers between the next expected and the last held that nobody has."""
    waiting = set(held)
    return [n for n in range(expected, max(waiting, default=0)) if n not in waiting]
