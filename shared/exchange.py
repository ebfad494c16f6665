"""What proves a message came from the center whose exchange topic it was read from (docs/exchange.md): the
signature of a key registered for that center, and both ends as the topic names them. Intake and supervision
check every message they take from another center with it, then each its own rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

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


M = TypeVar("M", bound=CenterMessage)


def newest(messages: Iterable[M], key: Callable[[M], str]) -> dict[str, M]:
    """Each key's most recently sent snapshot (a center's figures, a part's status): one sent later wins, an
    older one arriving late loses."""
    latest: dict[str, M] = {}
    for message in messages:
        k = key(message)
        if k not in latest or message.sent_at > latest[k].sent_at:
            latest[k] = message
    return latest
