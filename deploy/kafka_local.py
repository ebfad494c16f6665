"""A real Apache Kafka broker (KRaft, single node, loopback) as a local process.

No Docker engine is assumed: the broker's jars are resolved from Maven Central through
`deploy/kafka/pom.xml`, cached under ``~/.cache/lianban``, and started with the JDK.
Used by ``make run``, the end-to-end tests and the benchmark.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from deploy.signals import wait_for_stop

POM = Path(__file__).parent / "kafka" / "pom.xml"
CACHE = Path(os.environ.get("LIANBAN_CACHE", Path.home() / ".cache" / "lianban"))

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
"""

SERVER = """\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions={partitions}
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.ms=1000
"""


def kafka_version() -> str:
    """The Kafka version pinned in the pom, the single place it is set."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ElementTree.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    assert node is not None
    assert node.text
    return node.text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_block(size: int) -> int:
    """The first of `size` consecutive free ports (one per department for adapters or simulators)."""
    while True:
        first = free_port()
        if first + size < 65535 and all(_is_free(first + i) for i in range(1, size)):
            return first


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form; never one starting with '-', which the storage tool would
    read as an option (Kafka's own Uuid.randomUuid skips those too)."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id


def resolve_jars() -> Path:
    """Copy the broker's runtime jars into the cache once; later calls are instant."""
    lib = CACHE / f"kafka-{kafka_version()}" / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise RuntimeError("Java 17+ and Maven are needed to start a local Kafka broker")
    lib.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={lib}"],
        check=True,
    )
    marker.touch()
    return lib


@dataclass
class LocalKafka:
    """One broker process; `start()` returns once it answers metadata requests."""

    port: int = 0
    controller_port: int = 0
    workdir: Path | None = None
    partitions: int = 4
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> str:
        lib = resolve_jars()
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="lianban-kafka-"))
        data = self.workdir / "data"
        self.workdir.mkdir(parents=True, exist_ok=True)
        props = self.workdir / "server.properties"
        props.write_text(
            SERVER.format(port=self.port, controller_port=self.controller_port, data=data, partitions=self.partitions)
        )
        log4j = self.workdir / "log4j2.properties"
        log4j.write_text(LOG4J2.format(log=self.workdir / "server.log"))
        java = ["java", "-cp", f"{lib}/*", f"-Dlog4j2.configurationFile=file:{log4j}"]
        subprocess.run(
            [
                *java,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                self._cluster_id(),
                "-c",
                str(props),
                "--standalone",
                "--ignore-formatted",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        out = open(self.workdir / "stdout.log", "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [*java[:1], "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", *java[1:], "kafka.Kafka", str(props)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(timeout)
        return self.bootstrap

    def _cluster_id(self) -> str:
        """The cluster id this data directory was formatted with, or a new one."""
        assert self.workdir is not None
        stored = self.workdir / "cluster.id"
        if not stored.exists():
            stored.write_text(new_cluster_id())
        return stored.read_text().strip()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"Kafka exited with {self.process.returncode}; see {self.workdir}")
            if _metadata_ok(self.bootstrap):
                return
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"Kafka did not become ready within {timeout}s; see {self.workdir}")

    def kill(self) -> None:
        """Kill the broker outright (SIGKILL), as a crash would; `start()` brings it back on its data."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _metadata_ok(bootstrap: str) -> bool:
    """True once the broker answers a metadata request (an open port is not enough)."""
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            pass
    except OSError:
        return False
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    return asyncio.run(probe())


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local Apache Kafka broker (KRaft).")
    parser.add_argument("command", choices=["fetch", "run", "version"])
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--dir", type=Path, default=Path(".run/kafka"))
    args = parser.parse_args()
    if args.command == "version":
        print(kafka_version())
        return
    if args.command == "fetch":
        print(resolve_jars())
        return
    kafka = LocalKafka(port=args.port, workdir=args.dir)
    print(f"Kafka {kafka_version()} ready on {kafka.start()}", flush=True)
    try:
        wait_for_stop()
    finally:
        kafka.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
