"""A real S3-compatible object store (S3Proxy on a local folder) as a local process.

Why: the materials store speaks S3, and its tests and ``make run`` with ``LIANBAN_MATERIALS=s3``
need a server that answers as S3 does (signatures, buckets, presigned URLs), not a mock; no Docker
engine is assumed, so no MinIO container either. S3Proxy (`org.gaul:s3proxy`, pinned in
`deploy/s3proxy/pom.xml`) is resolved from Maven Central with its dependencies, cached under
``~/.cache/lianban`` (``LIANBAN_CACHE``), and started with the JDK on 127.0.0.1, keeping its objects,
configuration and log in its own work directory. Each start draws a new access key and secret.

S3Proxy does not implement the checksum headers that recent botocore sends by default (PutObject
answers ``NotImplemented``): clients configure ``request_checksum_calculation="when_required"`` and
``response_checksum_validation="when_required"`` (botocore's ``Config``, or the variables `S3Access.env`
gives).

`python -m deploy.s3proxy_local fetch` prepares the cache; `... serve` keeps a server up.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.maven_jars import pom_property, runtime_jars
from deploy.ports import free_port
from deploy.processes import stop_process
from deploy.signals import wait_for_stop
from shared.private_files import write_private

POM = Path(__file__).parent / "s3proxy" / "pom.xml"
MAIN = "org.gaul.s3proxy.Main"
JVM_OPTIONS = ("-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")  # small, quick to start
CONFIG = "s3proxy.conf"  # in the work directory, mode 0600: it holds the secret
LOG = "s3proxy.log"
DATA = "data"  # the buckets, one folder each

PROPERTIES = """\
s3proxy.endpoint={endpoint}
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity={access_key}
s3proxy.credential={secret_key}
jclouds.provider=filesystem-nio2
jclouds.identity=local
jclouds.credential=local
jclouds.filesystem.basedir={data}
"""
# filesystem-nio2, not the older `filesystem` provider, which S3Proxy 2.6 reports as deprecated (both pass
# the tests alike). The jclouds identity and credential are required but unused by a local folder.

# Logback's default, without a configuration, is DEBUG: every request's headers in the log.
LOGBACK = """\
<configuration>
  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="out"/></root>
</configuration>
"""


def version() -> str:
    """The S3Proxy version pinned in the pom, the single place it is set."""
    return pom_property(POM, "s3proxy.version")


def fetch() -> Path:
    """S3Proxy's runtime jars, copied into the cache once; later calls are instant. Returns their folder."""
    return runtime_jars(POM, f"s3proxy-{version()}", "a local S3Proxy")


@dataclass(frozen=True)
class S3Access:
    """Where one S3-compatible server is and the key pair it accepts (path-style addressing)."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """The standard AWS variables botocore-based clients read, with the checksum settings S3Proxy needs."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        }


@dataclass
class LocalS3Proxy:
    """One S3Proxy process on 127.0.0.1 serving the folder ``workdir/data``; `start()` returns once it
    answers HTTP. Started again on the same work directory, it serves the same buckets with new keys."""

    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    access: S3Access | None = field(default=None, init=False, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / LOG

    def start(self, timeout: float = 60.0) -> S3Access:
        lib = fetch()
        self.port = self.port or free_port()
        self.workdir = self.workdir.resolve()
        (self.workdir / DATA).mkdir(parents=True, exist_ok=True)
        (self.workdir / "tmp").mkdir(exist_ok=True)
        access = S3Access(self.endpoint, secrets.token_hex(10).upper(), secrets.token_urlsafe(30))
        config = self.workdir / CONFIG
        write_private(
            config,
            PROPERTIES.format(
                endpoint=access.endpoint,
                access_key=access.access_key,
                secret_key=access.secret_key,
                data=self.workdir / DATA,
            ),
        )
        logback = self.workdir / "logback.xml"
        logback.write_text(LOGBACK)
        with open(self.log, "ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    "java",
                    *JVM_OPTIONS,
                    f"-Dlogback.configurationFile={logback}",
                    f"-Djava.io.tmpdir={self.workdir / 'tmp'}",
                    *("-cp", f"{lib}/*", MAIN, "--properties", str(config)),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # Ctrl-C in a launcher's terminal is the launcher's to handle
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.access = access
        return access

    def _wait_ready(self, timeout: float) -> None:
        """Any HTTP answer will do (an anonymous request is refused with 403 once the server is up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"S3Proxy exited with {self.process.returncode}; {self.log}:\n{self._log_tail()}")
            try:
                httpx.get(self.endpoint, timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError(f"S3Proxy did not answer within {timeout}s; {self.log}:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to our own process, SIGKILL if it has not ended within `timeout`."""
        stop_process(self.process, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local S3-compatible object store (S3Proxy on a folder).")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="resolve S3Proxy's jars into the cache (Maven Central)")
    serve = commands.add_parser("serve", help="serve until Ctrl-C or SIGTERM")
    serve.add_argument("--port", type=int, default=0, help="0: a free port")
    serve.add_argument("--workdir", type=Path, default=Path(".run/s3proxy"))
    args = parser.parse_args()
    if args.command == "fetch":
        started = time.monotonic()
        lib = fetch()
        print(f"S3Proxy {version()}: {len(list(lib.glob('*.jar')))} jars in {lib} ({time.monotonic() - started:.0f}s)")
        return
    server = LocalS3Proxy(workdir=args.workdir, port=args.port)
    access = server.start()
    print(f"S3Proxy {version()} ready on {access.endpoint}; data in {server.workdir / DATA}, log in {server.log}")
    for name, value in access.env().items():
        print(f"export {name}={value}")
    print(flush=True)
    try:
        wait_for_stop()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
