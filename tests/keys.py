"""Signing keys (a department's, a center's) and a key registry of their public halves, for tests."""

from __future__ import annotations

import json
from pathlib import Path

from shared.signing import KeyRegistry, Signer, new_key_pair


def registered_keys(directory: Path, *departments: str) -> tuple[dict[str, Signer], KeyRegistry]:
    """A key per department or center (id `<name>-1`) and the registry that knows their public halves."""
    signers, registered = {}, {}
    for department in departments:
        private, public = new_key_pair(directory, department)
        signers[department] = Signer.load(private, f"{department}-1")
        registered[department] = [{"key_id": f"{department}-1", "public_key": public}]
    registry = directory / "registry.json"
    registry.write_text(json.dumps(registered))
    return signers, KeyRegistry.load(registry)
