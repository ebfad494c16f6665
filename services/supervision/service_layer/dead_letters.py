"""Dead letters as operators handle them: every one the center's consumers wrote is kept here, and an
operator redrives it to its topic after a fix, or discards it with a reason; each act is recorded with who
did it and when, and lands on the case's timeline.

A redrive writes the original's bytes back to the topic they came from, through the outbox (in the same
transaction as the record of the act), so every consumer of that topic reads them again; those that had
handled them already skip them by their event id. Only an original the dead letter kept whole (not cut at
64 KiB, its text the same bytes) can be redriven."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.supervision.adapters.orm import DeadLetterRecord, TimelineEntry
from shared.contracts import DeadLetter
from shared.messaging.consumer import Delivery
from shared.messaging.outbox import queue

STATUS_TEXT = {"open": "待处理", "redriven": "已重投", "discarded": "已丢弃"}
REDRIVEN, DISCARDED = "cn.lianban.supervision.dead_letter_redriven", "cn.lianban.supervision.dead_letter_discarded"


async def keep(session: AsyncSession, deliveries: list[Delivery], now: datetime) -> None:
    """The dead letters of the center's topic, as they come."""
    rows = [_row(d.event.id, d.event.subject, d.data, now) for d in deliveries if isinstance(d.data, DeadLetter)]
    if rows:
        await session.execute(insert(DeadLetterRecord), rows)


def _row(letter_id: str, subject: str, letter: DeadLetter, now: datetime) -> dict[str, Any]:
    original_type = None
    try:
        parsed = json.loads(letter.original)
        original_type = str(parsed.get("type"))[:100] if isinstance(parsed, dict) and parsed.get("type") else None
    except ValueError:
        pass
    return {
        "letter_id": letter_id,
        "received_at": now,
        "consumer": letter.consumer[:200],
        "error": letter.error[:2000],
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": letter.key,
        "case_id": None if subject == "unknown" else subject[:64],
        "department": letter.department,
        "event_type": original_type,
        "original": letter.original,
        "original_bytes": letter.original_bytes,
        "original_sha256": letter.original_sha256,
        "status": "open",
    }


def why_not_redrivable(letter: DeadLetterRecord) -> str | None:
    """Why the original cannot go back to its topic as it was, or None."""
    if letter.partition < 0:
        return "消息从未写入主题（被服务器拒收），无法重投 (the broker refused it; it was never on a topic)"
    whole = letter.original.encode()
    if len(whole) != letter.original_bytes or hashlib.sha256(whole).hexdigest() != letter.original_sha256:
        return "死信只保留了原消息的一部分，无法原样重投 (the dead letter kept only part of the original)"
    return None


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)


async def act(session: AsyncSession, ids: list[str], *, redrive: bool, by: str, reason: str | None, now: datetime) -> Outcome:
    """Redrive (or discard) each open dead letter of `ids`; the others are refused with the reason."""
    letters = {d.letter_id: d for d in await session.scalars(select(DeadLetterRecord).where(DeadLetterRecord.letter_id.in_(ids)))}
    outcome = Outcome()
    for letter_id in dict.fromkeys(ids):
        letter = letters.get(letter_id)
        problem = (
            "未找到该死信 (not found)"
            if letter is None
            else f"已处理：{STATUS_TEXT[letter.status]} (already {letter.status})"
            if letter.status != "open"
            else why_not_redrivable(letter)
            if redrive
            else None
        )
        if problem or letter is None:
            outcome.refused.append({"id": letter_id, "reason": problem or ""})
            continue
        if redrive:
            queue(
                session,
                [{"topic": letter.topic, "key": letter.key or "", "payload": letter.original.encode(), "created_at": now}],
            )
        letter.status = "redriven" if redrive else "discarded"
        letter.acted_by, letter.acted_at, letter.act_reason = by, now, reason
        if letter.case_id:
            summary = {"dead_letter": letter_id, "topic": letter.topic, "consumer": letter.consumer, "by": by, "reason": reason}
            session.add(TimelineEntry.of_act(letter.case_id, REDRIVEN if redrive else DISCARDED, now, letter.department, summary))
        outcome.done.append(letter_id)
    return outcome
