"""Logs every process writes: text by default, JSON lines with ``LIANBAN_LOG_FORMAT=json``.

While a message is handled, every line carries the consumer, the case and the event it is about
(`context`), so an operator can follow one case through every service. Untrusted text (a Kafka
key, an error from a department system) cannot forge a line: JSON escapes it, and the text format
escapes line breaks and other control characters. Personal data (names, ID numbers, phones) is
never put in a log line by Lianban's code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FIELDS = ("consumer", "case_id", "event_id")
_context: ContextVar[dict[str, str]] = ContextVar("lianban_log_context", default={})  # noqa: B039 - never mutated


@contextmanager
def context(**fields: str | None) -> Iterator[None]:
    """Every log line written inside carries these fields too."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class _WithContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            setattr(record, name, value)
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {f: getattr(record, f) for f in FIELDS if hasattr(record, f)}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class EscapedText(logging.Formatter):
    """One line per record: control characters in the message are escaped, the context appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return escape(super().formatException(ei)).replace("\\n", "\n  ")  # one record, indented lines

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        fields = " ".join(f"{f}={getattr(record, f)}" for f in FIELDS if hasattr(record, f))
        return escape(super().formatMessage(record)) + (f" [{escape(fields)}]" if fields else "")


def escape(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def configure(level: str, form: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if form == "json" else EscapedText())
    handler.addFilter(_WithContext())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiokafka.conn").setLevel(logging.WARNING)  # "Authenticated as …" on every connection
