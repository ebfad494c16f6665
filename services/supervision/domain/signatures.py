"""Signed entries of the record (pure): an entry that carries the department's signed action is only as
good as the signature and as the match between what was signed and what the entry says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.contracts import DepartmentAction
from shared.signing import KEY_ID, KeyRegistry

SIGNED = "signed_event"  # the summary key under which an entry keeps the department's signed action
ACTION: TypeAdapter[DepartmentAction] = TypeAdapter(DepartmentAction)  # type: ignore[arg-type]
AGREE = ("case_id", "department", "staff_id", "action", "acted_at")  # what the signed action and the entry both say


def signed_event(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    summary = fields.get("summary")
    event = summary.get(SIGNED) if isinstance(summary, dict) else None
    return event if isinstance(event, dict) else None


def key_ids(entries: list[Mapping[str, Any]]) -> set[str]:
    return {str(e[KEY_ID]) for fields in entries if (e := signed_event(fields)) is not None}


def signature_problem(fields: Mapping[str, Any], registry: KeyRegistry) -> str | None:
    """Why a signed entry does not hold (bad signature, or the entry says other than what was signed), or None."""
    event = signed_event(fields)
    if event is None:
        return None
    where = f"{fields['case_id']}#{fields['sequence']}"
    if why := registry.check(event, str(fields["department"])):
        return f"{where}: signature does not hold: {why}"
    said = {"case_id": fields["case_id"], "department": fields["department"], **fields["summary"]}
    data = event.get("data")
    data = data if isinstance(data, dict) else {}
    differ = [k for k in AGREE if not _same(data.get(k), said.get(k))]
    return f"{where}: says other than the signed action ({', '.join(differ)})" if differ else None


def _same(signed: Any, recorded: Any) -> bool:
    """One value, maybe spelt two ways: an action with its defaults left out, an instant in another offset."""
    if isinstance(signed, dict) and isinstance(recorded, dict):
        try:
            return bool(ACTION.validate_python(signed) == ACTION.validate_python(recorded))
        except ValidationError:
            return False
    if isinstance(signed, str) and isinstance(recorded, str) and "T" in signed and "T" in recorded:
        try:
            return datetime.fromisoformat(signed) == datetime.fromisoformat(recorded)  # one instant, two spellings
        except ValueError:
            pass
    return bool(signed == recorded)
