"""What an operator would look at when a case does not come back, printed beside a failed end-to-end test:
each consumer group's lag on its center's cluster (which service stopped reading), each process that exited,
and each log's last errors. A failure on CI leaves only the test's output; this makes it say where to look."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from deploy.kafka_acls import ADMIN
from deploy.launcher import System
from deploy.mirror_maker import TwoWayMirror
from tests.e2e.kafka_tools import TopicReader

FAILED = pytest.StashKey[bool]()  # set on a test item whose call failed (tests/e2e/conftest.py)

# what every service logs while its fresh cluster elects a group coordinator, and MirrorMaker at each start
# (deploy/mirror_maker.py): not causes
STARTUP_NOISE = re.compile(r"GroupCoordinatorNotAvailableError|Marking the coordinator dead|MirrorCheckpointConnector")
ERROR = re.compile(r"\b(ERROR|CRITICAL|Traceback)\b")


def report(systems: Mapping[str, System], mirrors: Mapping[str, TwoWayMirror], errors_per_log: int = 6) -> str:
    """Per center: its groups' committed offsets and lag, the processes that exited, the newest errors; the
    same of each MirrorMaker 2 link."""
    lines: list[str] = []
    for center, system in systems.items():
        try:
            groups = TopicReader(system.kafka.settings(ADMIN)).commits("lianban-")
            lines.append(f"[{center}] consumer groups (committed, lag): {dict(sorted(groups.items()))}")
        except Exception as exc:  # the diagnosis never hides the failure it explains
            lines.append(f"[{center}] consumer groups unreadable: {exc!r}")
        exited = {n: c.process.returncode for n, c in system.components.items() if c.process and c.process.poll() is not None}
        if exited:
            lines.append(f"[{center}] exited: {exited}")
        for log in sorted(system.workdir.glob("*.log")):
            lines.extend(f"[{center}] {log.name}: {line}" for line in last_errors(log, errors_per_log))
    for name, mirror in mirrors.items():
        if mirror.process and mirror.process.poll() is not None:
            lines.append(f"[{name}] MirrorMaker exited: {mirror.process.returncode}")
        if mirror.log.exists():
            lines.extend(f"[{name}] {line}" for line in last_errors(mirror.log, errors_per_log))
    return "\n".join(lines)


def last_errors(log: Path, count: int) -> list[str]:
    text = log.read_text(errors="replace").splitlines()
    return [line[:300] for line in text if ERROR.search(line) and not STARTUP_NOISE.search(line)][-count:]
