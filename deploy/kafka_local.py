"""A real Apache Kafka broker (KRaft, single node, loopback) as a local process.

No Docker engine is assumed: the broker's jars are resolved from Maven Central through
`deploy/kafka/pom.xml`, cached under ``~/.cache/lianban``, and started with the JDK.
Used by ``make run``, the end-to-end tests and the benchmark. It is secured (SASL/SCRAM and ACLs,
see `LocalKafka`), so what runs on it runs as it would on the center's cluster.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.kafka_acls import ADMIN, MECHANISM, default_principals
from deploy.maven_jars import pom_property, runtime_jars
from deploy.ports import free_port
from deploy.processes import kill_process, stop_process
from deploy.signals import wait_for_stop
from shared.messaging.broker import client_security
from shared.private_files import write_private
from shared.settings import KafkaSettings

POM = Path(__file__).parent / "kafka" / "pom.xml"
CREDENTIALS = "credentials.json"  # in the broker's work directory: every principal's password, mode 0600

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
listeners=CLIENTS://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=CLIENTS://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENTS
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENTS:SASL_PLAINTEXT
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config={controller_jaas}
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.clients.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.clients.scram-sha-512.sasl.jaas.config={clients_jaas}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{admin}
allow.everyone.if.no.acl.found=false
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
    return pom_property(POM, "kafka.version")


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form; never one starting with '-', which the storage tool would
    read as an option (Kafka's own Uuid.randomUuid skips those too)."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id


def resolve_jars() -> Path:
    """The broker's runtime jars, copied into the cache once; later calls are instant."""
    return runtime_jars(POM, f"kafka-{kafka_version()}", "a local Kafka broker")


@dataclass(frozen=True)
class KafkaAccess:
    """How each principal reaches one cluster. On a cluster whose SCRAM users this project made (the
    local broker), every principal's own password; on someone else's cluster (`from_environment`),
    none: every process then connects with the KAFKA_* settings of its environment, as the operator
    gave them, and the ACLs are the operator's business."""

    bootstrap: str
    passwords: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environment(cls) -> KafkaAccess:
        return cls(KafkaSettings().bootstrap_servers)

    @property
    def provisioned(self) -> bool:
        """Whether the principals are ours: then the launcher grants the center's ACLs itself."""
        return bool(self.passwords)

    def credentials(self, principal: str) -> tuple[str, str]:
        """The SCRAM user and password of a principal (KeyError for one the broker does not know)."""
        return principal, self.passwords[principal]

    def env(self, principal: str) -> dict[str, str]:
        """The KAFKA_* variables a process of this principal needs (`shared.settings.KafkaSettings`)."""
        if not self.provisioned:
            return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}  # the rest as the environment has it
        user, password = self.credentials(principal)
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": password,
        }

    def settings(self, principal: str) -> KafkaSettings:
        """The same as settings, for a client in this process (tools, tests, provisioning)."""
        if not self.provisioned:
            return KafkaSettings(bootstrap_servers=self.bootstrap)
        env = self.env(principal)
        return KafkaSettings.model_validate({k.removeprefix("KAFKA_").lower(): v for k, v in env.items()})

    def client_options(self, principal: str) -> dict[str, object]:
        """Keyword arguments for a plain aiokafka client connecting as this principal."""
        kafka = self.settings(principal)
        return {"bootstrap_servers": kafka.bootstrap_servers, **client_security(kafka)}


@dataclass
class LocalKafka:
    """One broker process; `start()` returns once it answers metadata requests.

    Secured as a production cluster is: clients authenticate with SASL/SCRAM-SHA-512 (no TLS: it
    listens on loopback only), the KRaft StandardAuthorizer denies whatever no ACL allows, and only
    `admin` is a super user. Each principal's SCRAM user is made when the data directory is formatted;
    the passwords are drawn then and kept (mode 0600) in the work directory, so a restart on the same
    data, after a kill -9, finds them again. The controller listener takes SASL/PLAIN with the admin
    user alone (SCRAM users live in the metadata the controller serves, so it cannot use them itself).
    """

    port: int = 0
    controller_port: int = 0
    workdir: Path | None = None
    partitions: int = 4
    principals: tuple[str, ...] = field(default_factory=default_principals)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def access(self) -> KafkaAccess:
        return KafkaAccess(self.bootstrap, self._passwords())

    def start(self, timeout: float = 90.0) -> KafkaAccess:
        lib = resolve_jars()
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="lianban-kafka-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._formatted() and not (self.workdir / CREDENTIALS).exists():
            raise RuntimeError(f"{self.workdir} holds a broker formatted without SCRAM users: remove it to start anew")
        props = self._write_config()
        log4j = self.workdir / "log4j2.properties"
        log4j.write_text(LOG4J2.format(log=self.workdir / "server.log"))
        java = ["java", "-cp", f"{lib}/*", f"-Dlog4j2.configurationFile=file:{log4j}"]
        self._format(java, props)
        out = open(self.workdir / "stdout.log", "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [*java[:1], "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", *java[1:], "kafka.Kafka", str(props)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(timeout)
        return self.access

    def _write_config(self) -> Path:
        """server.properties, readable by its owner alone: it holds the admin password."""
        assert self.workdir is not None
        admin = self._passwords()[ADMIN]
        props = self.workdir / "server.properties"
        write_private(
            props,
            SERVER.format(
                port=self.port,
                controller_port=self.controller_port,
                data=self.workdir / "data",
                partitions=self.partitions,
                admin=ADMIN,
                controller_jaas=_jaas("plain.PlainLoginModule", ADMIN, admin, f' user_{ADMIN}="{admin}"'),
                clients_jaas=_jaas("scram.ScramLoginModule", ADMIN, admin),
            ),
        )
        return props

    def _format(self, java: list[str], props: Path) -> None:
        """Format the data directory once, with every SCRAM user; a restart on formatted data spares
        the storage tool's JVM (and the tool would leave that data as it is anyway)."""
        if self._formatted():
            return
        users = [f"SCRAM-SHA-512=[name={name},password={password}]" for name, password in self._passwords().items()]
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
                *(arg for user in users for arg in ("--add-scram", user)),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def _formatted(self) -> bool:
        assert self.workdir is not None
        return (self.workdir / "data" / "meta.properties").exists()

    def _passwords(self) -> dict[str, str]:
        """Every principal's password, drawn on the first start and read back on every later one."""
        assert self.workdir is not None
        stored = self.workdir / CREDENTIALS
        if stored.exists():
            passwords: dict[str, str] = json.loads(stored.read_text())
            if missing := [p for p in self.principals if p not in passwords]:
                raise RuntimeError(f"{stored} predates principals {missing}: remove {self.workdir} to format anew")
            return passwords
        passwords = {principal: secrets.token_urlsafe(24) for principal in (ADMIN, *self.principals)}
        write_private(stored, json.dumps(passwords, indent=2))
        return passwords

    def _cluster_id(self) -> str:
        """The cluster id this data directory was formatted with, or a new one."""
        assert self.workdir is not None
        stored = self.workdir / "cluster.id"
        if not stored.exists():
            stored.write_text(new_cluster_id())
        return stored.read_text().strip()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        admin = self.access.settings(ADMIN)
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"Kafka exited with {self.process.returncode}; see {self.workdir}")
            if _metadata_ok(admin):
                return
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"Kafka did not become ready within {timeout}s; see {self.workdir}")

    def kill(self) -> None:
        """Kill the broker outright (SIGKILL), as a crash would; `start()` brings it back on its data."""
        kill_process(self.process)

    def stop(self) -> None:
        stop_process(self.process, timeout=20)


def _jaas(module: str, user: str, password: str, extra: str = "") -> str:
    return f'org.apache.kafka.common.security.{module} required username="{user}" password="{password}"{extra};'


def _metadata_ok(kafka: KafkaSettings) -> bool:
    """True once the broker answers a metadata request (an open port is not enough)."""
    host, port = kafka.bootstrap_servers.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            pass
    except OSError:
        return False
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=3000, **client_security(kafka))
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
    parser = argparse.ArgumentParser(description="Run a local Apache Kafka broker (KRaft, SASL/SCRAM, ACLs).")
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
    kafka.start()
    print(f"Kafka {kafka_version()} ready on {kafka.bootstrap}; credentials in {args.dir / CREDENTIALS}", flush=True)
    try:
        wait_for_stop()
    finally:
        kafka.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
