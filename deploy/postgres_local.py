"""A real PostgreSQL server (Debian's `postgresql` package) as a local process, beside the Kafka one.

Its data lives in a work directory, it listens on 127.0.0.1 and a free port, and it is stopped by
its own process id. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` user the Debian package creates. Used by `make test` and `make run LIANBAN_DB=postgres`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy import make_url

from deploy.ports import free_port
from deploy.processes import stop_process
from deploy.signals import wait_for_stop

USER = "lianban"
PASSWORD = "lianban-dev"  # loopback only, a throwaway cluster; production URLs come from settings
OWNER = "postgres" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
GROUPS: list[str] | None = [] if OWNER else None


def bin_dir() -> Path:
    """The newest installed server's binaries (initdb, postgres)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` (Debian) or see .ci/run")


@dataclass
class LocalPostgres:
    """One server; `start()` returns once it accepts connections. `durable=False` (tests) skips fsync."""

    port: int = 0
    workdir: Path | None = None
    durable: bool = True
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    temporary: bool = field(default=False, init=False)  # its directory made here: removed on stop

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> LocalPostgres:
        binaries = bin_dir()
        self.port = self.port or free_port()
        self.temporary = self.workdir is None
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="lianban-pg-")).resolve()
        data, sockets = self.workdir / "data", self.workdir / "sockets"
        self.workdir.mkdir(parents=True, exist_ok=True)
        sockets.mkdir(exist_ok=True)
        if not (data / "PG_VERSION").exists():
            pwfile = self.workdir / "pwfile"
            pwfile.write_text(PASSWORD)
            self._own(self.workdir)
            subprocess.run(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    USER,
                    f"--pwfile={pwfile}",
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                user=OWNER,
                group=OWNER,
                extra_groups=GROUPS,
            )
            pwfile.unlink()
        options = ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"]
        if not self.durable:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [str(binaries / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(sockets), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=OWNER,
            group=OWNER,
            extra_groups=GROUPS,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _own(self, path: Path) -> None:
        if OWNER:
            for p in [path, *path.rglob("*")]:
                shutil.chown(p, OWNER, OWNER)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited with {self.process.returncode}; see {self.workdir}/server.log")
            if (
                subprocess.run(
                    [str(bin_dir() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
                ).returncode
                == 0
            ):
                return
            time.sleep(0.2)
        raise TimeoutError(f"PostgreSQL did not accept connections within {timeout}s; see {self.workdir}")

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if it exists); returns its SQLAlchemy URL."""
        return asyncio.run(create_database(self.url("postgres"), name))

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open sessions are ended, committed data kept, unless the server's directory
        was a temporary one of its own (the tests' and the bench's: 2 GB a run, which filled a disk)."""
        stop_process(self.process, timeout=30, how=signal.SIGINT)
        if self.temporary and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def create_database(server_url: str, name: str, *, fresh: bool = True) -> str:
    """A database on the server the URL points at (any database of it), new and empty when `fresh`,
    else kept if it exists; returns its URL."""
    url = make_url(server_url)
    connection = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port, database=url.database or "postgres"
    )
    try:
        if fresh:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if fresh or not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local PostgreSQL server for Lianban.")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--dir", type=Path, default=Path(".run/postgres"))
    parser.add_argument("--database", action="append", default=[], help="create this database (repeatable)")
    args = parser.parse_args()
    server = LocalPostgres(port=args.port, workdir=args.dir).start()
    for name in args.database:
        print(server.create_database(name))
    print(f"PostgreSQL ready on 127.0.0.1:{server.port} (user {USER})", flush=True)
    try:
        wait_for_stop()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
