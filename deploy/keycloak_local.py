"""A real Keycloak server (the OIDC provider the services' tokens come from) as a local process.

No Docker engine is assumed: the server distribution, `org.keycloak:keycloak-quarkus-dist`, is
resolved from Maven Central, unpacked once under ``~/.cache/lianban`` (``LIANBAN_CACHE``) and built
there once for its embedded H2 file database (`kc.sh build`, about 30 s), so that every later start is
`kc.sh start --optimized`, which skips Quarkus' build step. Each server keeps its database,
transaction logs and temporary files in its own work directory, so runs side by side share nothing
but the read-only distribution, and listens on 127.0.0.1 and a free port.

A fresh work directory starts from a template database kept beside the distribution (the master
realm and its administrator, made by the first start), which saves Keycloak's schema creation on
every later start; the administrator's password is then changed to a new random one.
Used by the end-to-end tests (`tests/e2e/keycloak.py`); `python -m deploy.keycloak_local fetch`
prepares the cache, `... run` keeps a server up.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.keycloak_realm import KeycloakAdmin
from deploy.maven_jars import CACHE, cache_lock
from deploy.ports import free_port
from deploy.signals import wait_for_stop
from shared.private_files import write_private

VERSION = "26.4.0"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{VERSION}:tar.gz"
BUILD_OPTIONS = ("--db=dev-file",)  # build-time options baked into the cached distribution
ADMIN = "admin"
HEAP = "-Xms64m -Xmx512m"
JVM_OPTIONS = "-XX:TieredStopAtLevel=1"  # C1 only: starts faster on a busy machine; a test server's throughput is plenty
DATABASE = Path("data") / "h2" / "keycloakdb.mv.db"  # below `--db-url-path`, where dev-file keeps H2's file


def home() -> Path:
    return CACHE / f"keycloak-{VERSION}"


def _stamp() -> str:
    return json.dumps({"artifact": ARTIFACT, "build": BUILD_OPTIONS})


def resolve_distribution() -> Path:
    """Download, unpack and build the server once; later calls are instant. Returns its home."""
    root = home()
    marker = root / ".lianban-complete"
    if marker.exists() and marker.read_text() == _stamp():
        return root
    with cache_lock(f"keycloak-{VERSION}"):
        if marker.exists() and marker.read_text() == _stamp():
            return root
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise RuntimeError("Java 17+ and Maven are needed to start a local Keycloak")
        shutil.rmtree(root, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=CACHE, prefix=".keycloak-") as tmp:
            subprocess.run(
                ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={tmp}"],
                check=True,
                cwd=tmp,
            )
            tarball = Path(tmp) / f"keycloak-quarkus-dist-{VERSION}.tar.gz"
            with tarfile.open(tarball) as archive:
                archive.extractall(tmp, filter="data")
            tarball.unlink()
            (Path(tmp) / f"keycloak-{VERSION}").rename(root)
        with open(root / "build.log", "wb") as log:
            built = subprocess.run(
                [str(root / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "JAVA_OPTS_KC_HEAP": HEAP},
                check=False,
            )
        if built.returncode != 0:
            raise RuntimeError(f"kc.sh build failed ({built.returncode}); see {root / 'build.log'}")
        marker.write_text(_stamp())
    return root


def template_database() -> tuple[Path, str]:
    """The template H2 database (a master realm and its administrator `admin`, nothing else) and that
    administrator's password, made once by a first start of the cached server."""
    template = resolve_distribution() / "lianban-template"
    marker = template / ".complete"
    if not marker.exists():
        with cache_lock(f"keycloak-{VERSION}"):
            if not marker.exists():
                shutil.rmtree(template, ignore_errors=True)
                workdir = Path(tempfile.mkdtemp(dir=CACHE, prefix=".keycloak-template-"))
                try:
                    first = LocalKeycloak(workdir=workdir, from_template=False)
                    first.start()
                    if not first.stop():
                        raise RuntimeError(f"Keycloak did not stop cleanly while making its template; see {workdir}")
                    template.mkdir()
                    shutil.copyfile(workdir / DATABASE, template / DATABASE.name)
                    write_private(template / "admin-password", first.admin_password)
                    marker.touch()
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
    return template / DATABASE.name, (template / "admin-password").read_text()


@dataclass
class LocalKeycloak:
    """One Keycloak server; `start()` returns once its master realm's discovery document answers.

    `admin_password` is the master realm administrator's (user `admin`), new and random unless given;
    a server started again on the same work directory keeps its data and its password."""

    port: int = 0
    workdir: Path | None = None
    admin_password: str = ""
    from_template: bool = True
    heap: str = HEAP
    jvm_options: str = JVM_OPTIONS
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _admin: KeycloakAdmin | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_username(self) -> str:
        return ADMIN

    @property
    def admin(self) -> KeycloakAdmin:
        """The admin REST API as the master realm's administrator (`admin.lianban_realm(...)`)."""
        if self._admin is None or self._admin.password != self.admin_password:
            self._admin = KeycloakAdmin(self.base_url, ADMIN, self.admin_password)
        return self._admin

    def start(self, timeout: float = 240.0) -> LocalKeycloak:
        root = resolve_distribution()
        self.port = self.port or free_port()
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="lianban-keycloak-")).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        stored = self.workdir / "admin-password"
        database = self.workdir / DATABASE
        if database.exists() and stored.exists():  # started again on its own data
            current = stored.read_text()
            wanted = self.admin_password or current
        elif self.from_template:
            template, current = template_database()
            database.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, database)
            wanted = self.admin_password or secrets.token_urlsafe(18)
        else:  # a new database: Keycloak creates the administrator from the bootstrap variables
            current = wanted = self.admin_password or secrets.token_urlsafe(18)
        self.admin_password = current
        write_private(stored, current)
        self._launch(root)
        try:
            self._wait_ready(timeout)
            if wanted != current:
                self.admin.set_own_password(wanted)
                self.admin_password = wanted
                write_private(stored, wanted)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, root: Path) -> None:
        assert self.workdir is not None
        (self.workdir / "tmp").mkdir(exist_ok=True)
        env = {
            **os.environ,
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
            "JAVA_OPTS_KC_HEAP": self.heap,
            "JAVA_OPTS_APPEND": f"{os.environ.get('JAVA_OPTS_APPEND', '')} {self.jvm_options}".strip(),
        }
        with open(self.workdir / "keycloak.log", "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    str(root / "bin" / "kc.sh"),
                    "start",
                    "--optimized",
                    "--http-enabled=true",
                    "--hostname-strict=false",
                    "--http-host=127.0.0.1",
                    f"--http-port={self.port}",
                    "--cache=local",
                    f"--db-url-path={self.workdir}",  # hidden option: the folder dev-file keeps H2 in
                    f"-Dquarkus.transaction-manager.object-store.directory={self.workdir / 'transaction-logs'}",
                    f"-Djava.io.tmpdir={self.workdir / 'tmp'}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/realms/master/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"Keycloak exited with {self.process.returncode}; see {self.workdir}/keycloak.log")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"Keycloak did not answer within {timeout}s; see {self.workdir}/keycloak.log")

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM to the server's JVM (kc.sh's child), which shuts down cleanly and ends kc.sh; SIGKILL
        to the whole process group if it has not ended within `timeout`. True if it ended by itself."""
        process = self.process
        if process is None or process.poll() is not None:
            return True
        for pid in _children(process.pid) or [process.pid]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group kc.sh leads (start_new_session)
            process.wait()
            return False


def _children(pid: int) -> list[int]:
    """The direct children of a process we started (Linux's /proc)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local Keycloak server (OIDC provider).")
    parser.add_argument("command", choices=["fetch", "run", "version"])
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--dir", type=Path, default=Path(".run/keycloak"))
    args = parser.parse_args()
    if args.command == "version":
        print(VERSION)
        return
    if args.command == "fetch":
        started = time.monotonic()
        print(resolve_distribution(), flush=True)
        template_database()
        print(f"Keycloak {VERSION} and its template database ready in {time.monotonic() - started:.0f}s")
        return
    server = LocalKeycloak(port=args.port, workdir=args.dir).start()
    print(f"Keycloak {VERSION} ready on {server.base_url} (admin / {server.admin_password})", flush=True)
    try:
        wait_for_stop()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
