"""Servers started from their published jars (no Docker, no vendor download site): resolved from Maven
Central through a throwaway pom, once, into ``~/.cache/lianban`` (``LIANBAN_CACHE``); one process at a
time, so parallel test runs wait for the first instead of racing it."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

CACHE = Path(os.environ.get("LIANBAN_CACHE", Path.home() / ".cache" / "lianban"))


def pom_property(pom: Path, name: str) -> str:
    """A property of the pom (the version it pins: the single place it is set)."""
    node = ElementTree.parse(pom).getroot().find(f"m:properties/m:{name}", {"m": "http://maven.apache.org/POM/4.0.0"})
    assert node is not None
    assert node.text
    return node.text


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """Held while `name` is prepared in the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def runtime_jars(pom: Path, name: str, server: str) -> Path:
    """The pom's runtime dependencies in `<cache>/<name>/lib`, copied once, whole or not at all; later
    calls are instant. `server` names what needs them, for the error when Java or Maven is missing."""
    root = CACHE / name
    lib, marker = root / "lib", root / ".complete"
    if marker.exists():
        return lib
    with cache_lock(name):
        if marker.exists():
            return lib
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise RuntimeError(f"Java 17+ and Maven are needed to start {server}")
        shutil.rmtree(root, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=CACHE, prefix=f".{name}-") as tmp:
            subprocess.run(
                [
                    *("mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"),
                    *("-DincludeScope=runtime", f"-DoutputDirectory={Path(tmp) / 'lib'}"),
                ],
                check=True,
            )
            root.mkdir()
            (Path(tmp) / "lib").rename(lib)
        marker.touch()
    return lib
