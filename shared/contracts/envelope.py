"""The CloudEvents 1.0 envelope (structured JSON mode) every Lianban message travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PRINTABLE = r"^[^\x00-\x1f\x7f]+$"  # stored and logged: no control characters


class MalformedEvent(ValueError):
    """The bytes are not a Lianban CloudEvent this code understands; the reason says why."""


class EventData(BaseModel):
    """Base of every payload; `event_type` is the CloudEvents `type`, with its version suffix."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: ClassVar[str]


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=100, pattern=PRINTABLE, description="Unique per event; consumers deduplicate on it.")
    source: str = Field(description="URI-reference of the producer, e.g. /lianban/demo/intake.")
    type: str = Field(description="Reverse-DNS type with a version suffix, e.g. cn.lianban.case.submitted.v1.")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str = Field(min_length=1, max_length=64, pattern=PRINTABLE, description="The case id.")
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    @classmethod
    def wrap(cls, data: EventData, *, source: str, subject: str) -> Self:
        return cls(id=str(uuid.uuid4()), source=source, type=data.event_type, subject=subject, data=data.model_dump(mode="json"))

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Self:
        if not raw:
            raise MalformedEvent("empty message")
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise MalformedEvent(f"not a CloudEvent: {_first_error(exc)}") from exc

    def payload(self) -> EventData:
        """The typed data, by `type`; an unknown type or a bad payload is a MalformedEvent."""
        from shared.routing import EVENT_TYPES  # every event type is routed: the one table names them all

        model = EVENT_TYPES.get(self.type)
        if model is None:
            raise MalformedEvent(f"unknown event type {self.type!r}")
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise MalformedEvent(f"bad {self.type} data: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "message"
    return f"{where}: {err['msg']} ({exc.error_count()} error(s))"
