"""What a bundle carries. From the center: work. From the department side: receipts (签收), answers,
notice acknowledgements (回告), refusals of work by the department's system, and refusals of the center's
bundles. Times are the department side's own: the center keeps them as stated."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.contracts import DepartmentAction
from shared.ferry.bundle import Bundle, BundleError


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class WorkEntry(_Entry):
    """A piece of work for the department: a pre-review round, the handling, or a supervision notice."""

    kind: Literal["work"] = "work"
    item: str = Field(max_length=120, description="`<work order>#review<n>`, `#handle` or `#notice-<alert>`.")
    type: str = Field(description="The CloudEvents type of `data`.")
    data: dict[str, Any]


class ReceiptEntry(_Entry):
    kind: Literal["receipt"] = "receipt"
    item: str = Field(max_length=120)
    received_at: datetime


class AnswerEntry(_Entry):
    kind: Literal["answer"] = "answer"
    item: str = Field(max_length=120)
    action: DepartmentAction
    staff_id: str = Field(max_length=64)
    acted_at: datetime = Field(description="When the department side had the decision.")


class AcknowledgementEntry(_Entry):
    kind: Literal["acknowledgement"] = "acknowledgement"
    item: str = Field(max_length=120)
    staff_id: str = Field(max_length=64)
    acknowledged_at: datetime


class RefusalEntry(_Entry):
    """The department's system refused the request itself: asking again cannot help."""

    kind: Literal["refusal"] = "refusal"
    item: str = Field(max_length=120)
    reason: str = Field(max_length=2000)
    refused_at: datetime


class BundleRefusedEntry(_Entry):
    """The department side refused a bundle of the center's (unsigned, altered, forged)."""

    kind: Literal["bundle_refused"] = "bundle_refused"
    seq: int = Field(description="The number it claimed, -1 if none.")
    file: str = Field(max_length=255)
    reason: str = Field(max_length=2000)
    refused_at: datetime


Entry = Annotated[
    WorkEntry | ReceiptEntry | AnswerEntry | AcknowledgementEntry | RefusalEntry | BundleRefusedEntry,
    Field(discriminator="kind"),
]
ENTRIES: TypeAdapter[list[Entry]] = TypeAdapter(list[Entry])


def read_entries(bundle: Bundle) -> list[Entry]:
    """A verified bundle's entries as the ferry knows them; one it does not know refuses the whole bundle."""
    try:
        return ENTRIES.validate_python(bundle.entries)
    except ValidationError as exc:
        why = exc.errors()[0]["msg"]
        raise BundleError(f"条目格式错误 (an entry is not one the ferry knows): {why}", bundle.seq) from exc
