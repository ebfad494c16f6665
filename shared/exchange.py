"""What proves a message came from the center whose exchange topic it was read from (docs/exchange.md): the
signature of a key registered for that center, and both ends as the topic names them. Intake and supervision
check every message they take from another center with it, then each its own rules."""

from __future__ import annotations

from typing import Any

from shared.contracts import CenterMessage
from shared.signing import KeyRegistry


def unproven(keys: KeyRegistry, signed: dict[str, Any] | None, message: CenterMessage, sender: str, receiver: str) -> str | None:
    """Why `message`, read from `sender`'s topic to `receiver`, is not proven to be `sender`'s, if it is not."""
    if refused := keys.check(signed, sender):
        return refused
    if message.from_center != sender or message.to_center != receiver:
        return f"收发中心 {message.from_center}→{message.to_center} 与通道不符 (not {sender}→{receiver})"
    return None


class NotProven(ValueError):
    """A message from another center that its topic and signature do not prove; dead-lettered with the reason."""
