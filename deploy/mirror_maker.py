"""Apache Kafka's MirrorMaker 2 between two Lianban clusters, as a local process.

Why: a department that runs its own Kafka cluster reads its work and writes its actions there, under the
very topic names of docs/integration.md, and MirrorMaker 2 (not a home-made bridge) carries them across:
the department's work and feedback from the center, its actions and acknowledgements back. On the center
it connects as the department's own principal, so the center's ACLs hold it to that department's topics;
the Connect topics it keeps there are a family of that department alone (`deploy/kafka_acls.py`).
Two centers exchanging case records are linked the same way (`deploy/center_link.py`): both links are a
`TwoWayMirror`, which runs the process; each says only which clusters, topics and names it has.

Its jars (`deploy/mirror_maker/pom.xml`, the broker's Kafka version) are resolved from Maven Central into
``~/.cache/lianban``; `python -m deploy.mirror_maker fetch` prepares them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
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
        raise ValueError("MirrorMaker 2 does not get TLS client certificates from us yet: use SASL over TLS")
    return props


@dataclass(frozen=True)
class Cluster:
    """One cluster of a two-way mirror: its alias in mm2.properties, how the mirror reaches it, and where the
    Connect worker of the flow that writes to it keeps its topics (`internal`, their prefix) and its group."""

    alias: str
    kafka: KafkaSettings
    internal: str
    group: str

    def properties(self) -> dict[str, str]:
        """Its client settings and its worker's, to be prefixed with its alias (MirrorMaker gives a flow's
        worker the settings of the flow's target)."""
        worker = {
            **WORKER,
            "group.id": self.group,
            "config.storage.topic": f"{self.internal}configs",
            "offset.storage.topic": f"{self.internal}offsets",
            "status.storage.topic": f"{self.internal}status",
        }
        return client_properties(self.kafka) | worker


@dataclass(frozen=True)
class Flow:
    """Topics copied from one cluster to the other, each under its own name."""

    source: Cluster
    target: Cluster
    topics: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.source.alias}->{self.target.alias}"

    async def prepare_topics(self) -> None:
        """Every topic on both clusters, with as many partitions on the target as on the source (records keep
        their partition). A topic one side lacks is made there with the other side's count (the source's if
        both have it, the source's default if neither does)."""
        source, target, topics = self.source.kafka, self.target.kafka, list(self.topics)
        counts = await _partitions(target, topics) | await _partitions(source, topics)
        for topic in topics:
            count = counts.get(topic, source.topic_partitions)
            for kafka in (source, target):
                await ensure_topics(kafka.model_copy(update={"topic_partitions": count}), [topic], ready_within=30)
        there, here = await _partitions(target, topics), await _partitions(source, topics)
        if short := [topic for topic in topics if there[topic] < here[topic]]:
            raise RuntimeError(f"{self.name}: fewer partitions on the target than on the source: {short}")


class TwoWayMirror(ABC):
    """One MirrorMaker 2 process between two clusters, a flow each way, each flow a Connect worker on its
    target cluster. Source offsets live there too, so a restart (after a kill -9 as well) resumes where the
    last flush left it: nothing lost, at most about a second repeated. A link says which clusters (`ends`)
    and which topics each way (`carried`); the rest is here."""

    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    ready_in: float | None = None  # seconds the last start took to replicate

    @property
    @abstractmethod
    def ends(self) -> tuple[Cluster, Cluster]:
        """The two clusters, in the order of `carried`."""

    @property
    @abstractmethod
    def carried(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The topics from the first end to the second, and those back."""

    @property
    def flows(self) -> tuple[Flow, Flow]:
        (first, second), (there, back) = self.ends, self.carried
        return Flow(first, second, there), Flow(second, first, back)

    @property
    def log(self) -> Path:
        return self.workdir / LOG

    def properties(self) -> dict[str, str]:
        """mm2.properties: the two clusters by their aliases, each with its worker's settings, and the two flows."""
        first, second = self.ends
        each = {f"{end.alias}.{key}": value for end in self.ends for key, value in end.properties().items()}
        flows = {f"{flow.name}.{key}": value for flow in self.flows for key, value in _enabled(flow.topics).items()}
        return {"clusters": f"{first.alias}, {second.alias}", **COMMON, **each, **flows}

    def start(self, timeout: float = 120.0) -> None:
        """Start and return once both flows replicate every topic; raises with the log's path otherwise."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"MirrorMaker already runs in {self.workdir} (pid {self.process.pid})")
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
        """Every mirrored topic on both sides before MirrorMaker starts: it then starts replicating at once,
        and never needs to create a topic, which would take reading the source's topic configs."""
        for flow in self.flows:
            await flow.prepare_topics()

    def _wait_replicating(self, since: int, timeout: float) -> None:
        """Until each flow's task logs that it replicates all its topics (MirrorSourceTask's start line):
        its consumer is then assigned and reading, from where the last run's offsets left it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"MirrorMaker exited with {self.process.returncode}; see {self.log}:\n{self._log_tail()}")
            text = self.log.read_bytes()[since:].decode(errors="replace")
            if all(_replicating(text, flow.name, flow.topics) for flow in self.flows):
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


@dataclass
class MirrorLink(TwoWayMirror):
    """MirrorMaker 2 for one department of one center: the department's work and feedback topics from the
    center to its own cluster, its actions and acknowledgements back, each under the same name.

    Both flows' workers keep their Connect topics and group under the department's names, each on its target:
    `lianban.<center>.mirror.<department>.` and `lianban-<center>-adapter-<department>.mirror`. On the center
    the mirror connects as the department's principal, on the department's own cluster as `mirror-maker`.
    """

    center: str
    department: str
    center_kafka: KafkaAccess
    department_kafka: KafkaAccess
    workdir: Path

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
    def ends(self) -> tuple[Cluster, Cluster]:
        internal, group = mirror_topics(self.topics, self.department), mirror_group(self.topics, self.department)
        return (
            Cluster(self.center, self.center_settings, internal, group),
            Cluster(self.department, self.department_settings, internal, group),
        )

    @property
    def carried(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.inbound, self.outbound


async def _partitions(kafka: KafkaSettings, topics: list[str]) -> dict[str, int]:
    """How many partitions each of `topics` that exists has (a missing one is not asked after: a metadata
    request for it could make the broker create it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, **client_security(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if not (asked := [topic for topic in topics if topic in existing]):
            return {}
        return {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(asked)}
    finally:
        await admin.close()


def _replicating(log: str, flow: str, topics: tuple[str, ...]) -> bool:
    """Whether a task of this flow logged that it replicates partitions of every one of `topics`."""
    for match in re.finditer(rf"replicating \d+ topic-partitions {re.escape(flow)}: \[(.*?)\]", log):
        assigned = {partition.strip().rsplit("-", 1)[0] for partition in match.group(1).split(",")}
        if assigned >= set(topics):
            return True
    return False


def _enabled(topics: tuple[str, ...]) -> dict[str, str]:
    """A flow's own settings: on, and its topics."""
    return {"enabled": "true", "topics": _topic_list(topics)}


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
    parser = argparse.ArgumentParser(description="MirrorMaker 2 between two Lianban clusters.")
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
