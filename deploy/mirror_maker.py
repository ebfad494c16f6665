"""Apache Kafka's MirrorMaker 2 between a center's cluster and a department's own, as a local process.

Why: a department that runs its own Kafka cluster reads its work and writes its actions there, under the
very topic names of docs/integration.md, and MirrorMaker 2 (not a home-made bridge) carries them across:
the department's work and feedback from the center, its actions and acknowledgements back. On the center
it connects as the department's own principal, so the center's ACLs hold it to that department's topics;
the Connect topics it keeps there are a family of that department alone (`deploy/kafka_acls.py`).

Its jars (`deploy/mirror_maker/pom.xml`, the broker's Kafka version) are resolved from Maven Central into
``~/.cache/lianban``; `python -m deploy.mirror_maker fetch` prepares them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from deploy.kafka_acls import MIRROR_MAKER, department_principal, mirror_group, mirror_topics
from deploy.kafka_local import POM as KAFKA_POM
from deploy.kafka_local import KafkaAccess, kafka_version
from deploy.maven_jars import pom_property, runtime_jars
from deploy.processes import kill_process, stop_process
from shared.messaging.admin import ensure_topics
from shared.messaging.broker import client_security
from shared.private_files import write_private
from shared.settings import KafkaSettings
from shared.topics import Topics

POM = Path(__file__).parent / "mirror_maker" / "pom.xml"
MAIN = "org.apache.kafka.connect.mirror.MirrorMaker"
JVM_OPTIONS = ("-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")  # small, quick to start
CONFIG = "mm2.properties"  # in the work directory, mode 0600: it holds both passwords
LOG = "mirror-maker.log"
LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
logger.mirror.name = org.apache.kafka.connect.mirror
logger.mirror.level = info
"""

# What every link sets, and why: topic names identical on both sides (the contract names them); records
# carried as bytes, headers too (the worker's default converters, spelled out); no heartbeats, checkpoints,
# group-offset or topic-config/ACL syncing (nothing reads them, and they would need more than the ACLs
# give); no offset-syncs either, which serve checkpoints only (so MirrorMaker refuses to configure its
# checkpoint connector at each start, an ERROR in its log that is expected); single-node clusters. Plugins
# are found by their ServiceLoader manifests, not by scanning every jar (seconds saved at start). Latency
# needs no setting: the source consumer's fetch returns as soon as a record is there (fetch.min.bytes=1).
COMMON = {
    "plugin.discovery": "service_load",
    "replication.policy.class": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy",
    "key.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
    "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
    "header.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
    "emit.heartbeats.enabled": "false",
    "emit.checkpoints.enabled": "false",
    "emit.offset-syncs.enabled": "false",
    "sync.group.offsets.enabled": "false",
    "sync.topic.configs.enabled": "false",
    "sync.topic.acls.enabled": "false",
    "refresh.topics.interval.seconds": "30",
    "tasks.max": "1",
    "replication.factor": "1",
    "heartbeats.topic.replication.factor": "1",
    "checkpoints.topic.replication.factor": "1",
    "config.storage.replication.factor": "1",
    "offset.storage.replication.factor": "1",
    "status.storage.replication.factor": "1",
    "offset.storage.partitions": "1",
    "status.storage.partitions": "1",
}
# The Connect worker of each flow, on its target cluster: source offsets flushed every second (a restart
# after a kill repeats at most about a second of records), and a restarted worker takes the tasks of the one
# that died at once instead of holding them for Connect's default five minutes.
WORKER = {
    "plugin.discovery": "service_load",
    "offset.flush.interval.ms": "1000",
    "scheduled.rebalance.max.delay.ms": "0",
    "session.timeout.ms": "6000",
    "heartbeat.interval.ms": "2000",
}


def version() -> str:
    """The broker's Kafka version, which this pom must pin too (one Kafka in the project)."""
    pinned = pom_property(POM, "kafka.version")
    if pinned != kafka_version():
        raise RuntimeError(f"{POM} pins Kafka {pinned}, {KAFKA_POM} {kafka_version()}: make them equal")
    return pinned


def fetch() -> Path:
    """MirrorMaker 2's runtime jars, copied into the cache once; later calls are instant."""
    return runtime_jars(POM, f"mirror-maker-{version()}", "MirrorMaker 2")


def client_properties(kafka: KafkaSettings) -> dict[str, str]:
    """A Java client's settings for what a Lianban process's KAFKA_* say."""
    props = {"bootstrap.servers": kafka.bootstrap_servers, "security.protocol": kafka.security_protocol}
    if kafka.security_protocol.startswith("SASL"):
        module = "plain.PlainLoginModule" if kafka.sasl_mechanism == "PLAIN" else "scram.ScramLoginModule"
        user, password = _quoted(kafka.sasl_username or ""), _quoted(kafka.sasl_password or "")
        props["sasl.mechanism"] = kafka.sasl_mechanism
        props["sasl.jaas.config"] = f'org.apache.kafka.common.security.{module} required username="{user}" password="{password}";'
    if kafka.ssl_cafile:
        props |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": kafka.ssl_cafile}
    if kafka.ssl_certfile:
        raise ValueError("MirrorLink does not pass TLS client certificates yet: use SASL over TLS")
    return props


@dataclass
class MirrorLink:
    """MirrorMaker 2 for one department of one center: the department's work and feedback topics from the
    center to its own cluster, its actions and acknowledgements back, each under the same name.

    Two flows, each a Connect worker on its target cluster: center->department keeps its Connect topics on
    the department's cluster, department->center on the center, as the department's principal, under
    `lianban.<center>.mirror.<department>.` and group `lianban-<center>-adapter-<department>.mirror`. Source
    offsets live there too, so a restart (after a kill -9 as well) resumes where the last flush left it:
    nothing lost, at most about a second repeated. On its own cluster it connects as `mirror-maker`.
    """

    center: str
    department: str
    center_kafka: KafkaAccess
    department_kafka: KafkaAccess
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    ready_in: float | None = field(default=None, init=False)  # seconds the last start took to replicate

    def __post_init__(self) -> None:
        if self.center == self.department:
            raise ValueError("the center and the department name the two clusters: they must differ")

    @property
    def topics(self) -> Topics:
        return Topics(self.center)

    @property
    def inbound(self) -> tuple[str, ...]:
        """From the center to the department."""
        return self.topics.work(self.department), self.topics.feedback(self.department)

    @property
    def outbound(self) -> tuple[str, ...]:
        """From the department back to the center."""
        return self.topics.actions(self.department), self.topics.acknowledgements(self.department)

    @property
    def center_settings(self) -> KafkaSettings:
        """How the mirror reaches the center: as the department."""
        return self.center_kafka.settings(department_principal(self.department))

    @property
    def department_settings(self) -> KafkaSettings:
        return self.department_kafka.settings(MIRROR_MAKER)

    @property
    def log(self) -> Path:
        return self.workdir / LOG

    def properties(self) -> dict[str, str]:
        """mm2.properties: the two clusters by their codes, the two flows, and each flow's worker."""
        center, department = self.center, self.department
        internal = mirror_topics(self.topics, department)
        worker = {
            **WORKER,
            "group.id": mirror_group(self.topics, department),
            "config.storage.topic": f"{internal}configs",
            "offset.storage.topic": f"{internal}offsets",
            "status.storage.topic": f"{internal}status",
        }
        clusters = {center: self.center_settings, department: self.department_settings}
        each = {f"{alias}.{k}": v for alias, kafka in clusters.items() for k, v in (client_properties(kafka) | worker).items()}
        return {
            "clusters": f"{center}, {department}",
            **COMMON,
            **each,
            f"{center}->{department}.enabled": "true",
            f"{center}->{department}.topics": _topic_list(self.inbound),
            f"{department}->{center}.enabled": "true",
            f"{department}->{center}.topics": _topic_list(self.outbound),
        }

    def start(self, timeout: float = 120.0) -> None:
        """Start and return once both flows replicate every topic; raises with the log's path otherwise."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"MirrorMaker already runs for {self.department} (pid {self.process.pid})")
        began, lib = time.monotonic(), fetch()
        self.workdir = self.workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        asyncio.run(self._prepare_topics())
        config = self.workdir / CONFIG
        write_private(config, "".join(f"{key} = {_escaped(value)}\n" for key, value in self.properties().items()))
        log4j = self.workdir / "log4j2.properties"
        log4j.write_text(LOG4J2)
        since = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                ["java", *JVM_OPTIONS, f"-Dlog4j2.configurationFile=file:{log4j}", "-cp", f"{lib}/*", MAIN, str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        try:
            self._wait_replicating(since, timeout)
        except BaseException:
            self.stop()
            raise
        self.ready_in = time.monotonic() - began

    async def _prepare_topics(self) -> None:
        """Every mirrored topic on both sides before MirrorMaker starts, with as many partitions on the
        target as on the source (records keep their partition): it then starts replicating at once, and
        never needs to create a topic, which would take reading the source's topic configs."""
        center, department = self.center_settings, self.department_settings
        topics = [*self.inbound, *self.outbound]
        await ensure_topics(center, topics, ready_within=30)
        for topic, partitions in (await _partitions(center, topics)).items():
            await ensure_topics(department.model_copy(update={"topic_partitions": partitions}), [topic], ready_within=30)
        here, there = await _partitions(department, topics), await _partitions(center, topics)
        if short := [t for t in self.inbound if here[t] < there[t]] + [t for t in self.outbound if there[t] < here[t]]:
            raise RuntimeError(f"fewer partitions on the target than on the source: {short}")

    def _wait_replicating(self, since: int, timeout: float) -> None:
        """Until each flow's task logs that it replicates all its topics (MirrorSourceTask's start line):
        its consumer is then assigned and reading, from where the last run's offsets left it."""
        flows = {f"{self.center}->{self.department}": self.inbound, f"{self.department}->{self.center}": self.outbound}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"MirrorMaker exited with {self.process.returncode}; see {self.log}:\n{self._log_tail()}")
            text = self.log.read_bytes()[since:].decode(errors="replace")
            if all(_replicating(text, flow, topics) for flow, topics in flows.items()):
                return
            time.sleep(0.2)
        raise TimeoutError(f"MirrorMaker did not replicate within {timeout}s; see {self.log}:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL, as a crash would; `start()` resumes from the offsets last flushed."""
        kill_process(self.process)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to our own process (its tasks stop and flush their offsets), SIGKILL after `timeout`."""
        stop_process(self.process, timeout)


async def _partitions(kafka: KafkaSettings, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, **client_security(kafka))
    await admin.start()
    try:
        return {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(topics)}
    finally:
        await admin.close()


def _replicating(log: str, flow: str, topics: tuple[str, ...]) -> bool:
    """Whether a task of this flow logged that it replicates partitions of every one of `topics`."""
    for match in re.finditer(rf"replicating \d+ topic-partitions {re.escape(flow)}: \[(.*?)\]", log):
        assigned = {partition.strip().rsplit("-", 1)[0] for partition in match.group(1).split(",")}
        if assigned >= set(topics):
            return True
    return False


def _topic_list(topics: tuple[str, ...]) -> str:
    """MirrorMaker reads topic names as regular expressions: each name exactly, its dots literal."""
    return ", ".join(topic.replace(".", "[.]") for topic in topics)


def _quoted(text: str) -> str:
    """A value inside a JAAS option's double quotes."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _escaped(value: str) -> str:
    """A value as java.util.Properties reads it back."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="MirrorMaker 2 between a center's Kafka cluster and a department's own.")
    parser.add_argument("command", choices=["fetch", "version"])
    args = parser.parse_args()
    if args.command == "version":
        print(version())
        return
    started = time.monotonic()
    lib = fetch()
    print(f"MirrorMaker 2 (Kafka {version()}): {len(list(lib.glob('*.jar')))} jars in {lib} ({time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()
