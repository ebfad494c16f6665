"""Where the tests' real servers come from, and the types of the fixtures that hand them out."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable

from sqlalchemy import MetaData

from shared.db import SessionFactory
from shared.migrations import Schema

MakeSessions = Callable[[Schema | MetaData], Awaitable[SessionFactory]]


def docker_available() -> bool:
    """Whether a Docker engine answers here (then testcontainers provide the servers)."""
    if shutil.which("docker") is None:
        return False
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False
