"""The hash chains that make supervision's record tamper-evident (留痕可溯).

Each case's timeline is a chain: entry n's hash covers its fields and entry n-1's hash. The center's
ledger chains every entry of every case in the order they were sealed, so a case deleted whole breaks
it too. Both are plain SHA-256 over canonical JSON, so a third party recomputes them with any JSON
library (docs/evidence.md gives the procedure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.canonical import canonical_json

GENESIS = "0" * 64
HASHED = ("case_id", "sequence", "event_id", "event_type", "occurred_at", "department", "summary", "previous_hash")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers: its hashed fields as canonical JSON."""
    return canonical_json({k: fields[k] for k in HASHED})


def instant(moment: datetime) -> str:
    """A time as the chain writes it: UTC, microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def ledger_hash(previous: str, entry: str) -> str:
    return hashlib.sha256(f"{previous}{entry}".encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    """One sealed entry as stored: its hashed fields, its hash and its place in the ledger."""

    fields: dict[str, Any]
    entry_hash: str
    ledger_position: int
    ledger_hash: str


def broken_links(links: Iterable[Link]) -> list[str]:
    """Every place where the stored record does not hash as it was sealed, in ledger order: a changed
    entry, an entry missing from its case, a position missing from the ledger."""
    problems: list[str] = []
    heads: dict[str, tuple[int, str]] = {}  # case -> (last sequence, last entry hash)
    position, previous_ledger = 0, GENESIS
    for link in links:
        case, where = link.fields["case_id"], f"{link.fields['case_id']}#{link.fields['sequence']}"
        if link.ledger_position != position + 1:
            problems.append(f"ledger positions {position + 1}..{link.ledger_position - 1} are missing (deleted)")
        elif ledger_hash(previous_ledger, link.entry_hash) != link.ledger_hash:
            problems.append(f"ledger position {link.ledger_position}: does not follow position {position}")
        sequence, previous_entry = heads.get(case, (0, GENESIS))
        if link.fields["sequence"] != sequence + 1 or link.fields["previous_hash"] != previous_entry:
            problems.append(f"{where}: does not follow entry {case}#{sequence} (an entry is missing or was moved)")
        if entry_hash(link.fields) != link.entry_hash:
            problems.append(f"{where}: changed after it was sealed (event {link.fields['event_id']})")
        heads[case] = (link.fields["sequence"], link.entry_hash)
        position, previous_ledger = link.ledger_position, link.ledger_hash
    return problems


@dataclass(frozen=True)
class Anchor:
    """The ledger's head as someone copied it out of the database at some time (`lianban audit head`): the
    ledger must still reach that position with that hash."""

    position: int
    ledger_hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        position, _, digest = text.partition(":")
        if not position.isdigit() or len(digest) != 64:
            raise ValueError(f"an anchor is POSITION:LEDGER_HASH (64 hex digits), not {text!r}")
        return cls(int(position), digest.lower())


def anchor_problems(links: Iterable[Link], anchors: Iterable[Anchor]) -> list[str]:
    """Where the ledger no longer holds an anchor: entries cut off its end, or the record before the
    anchor rewritten (every hash recomputed by someone who could write the database)."""
    at = {link.ledger_position: link.ledger_hash for link in links}
    head = max(at, default=0)
    problems = []
    for anchor in anchors:
        if anchor.position > head:
            problems.append(f"anchor {anchor.position}: the ledger ends at {head} (entries cut off its end)")
        elif at.get(anchor.position) != anchor.ledger_hash:
            problems.append(f"anchor {anchor.position}: the ledger hash differs (the record up to it was rewritten)")
    return problems
