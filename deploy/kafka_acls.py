"""Identity and access on the center's Kafka: one principal per service and per department, and the
ACLs that give each one exactly the topics it writes and reads.

The plan is read off `shared/topics.py`, where every channel names its writers and readers: a
service gets its channel's topics (every department's at once, by prefix, for a per-department
channel), a department's principal only its own topic of the channel (literal name). Each principal
may also CREATE the topics it uses (each service creates its topics at start) and READ its consumer
group. Kafka lets READ and WRITE imply DESCRIBE, and an idempotent producer needs nothing but WRITE
(Kafka 3.0+), so nothing more is granted, with one exception: supervision shows each department's
adapter lag on its work topic (services/supervision/adapters/consumer_lag.py), and fetching another
group's committed offsets needs DESCRIBE on that group, so it may DESCRIBE the adapters' groups (by
their common prefix): it can see their offsets and members, not join them nor commit for them. `admin`
is the broker's super user, for provisioning and operators. And supervision may WRITE every topic some
consumer reads, to redrive a dead letter where it came from (`redrive`: it writes them, it does not create them).

    python -m deploy.kafka_acls plan --center demo    # the bindings, one a line
    python -m deploy.kafka_acls grant --center demo   # apply them (admin credentials from KAFKA_*)
    python -m deploy.kafka_acls plan --center hz --peer xh   # with the exchange with another center

Granting is idempotent; it adds and never revokes.

A department that runs its own Kafka cluster gets its work mirrored in and its actions mirrored back by
MirrorMaker 2 (`deploy/mirror_maker.py`), which connects to the center as the department's own principal:
the center grants it only the Connect topics of that mirror, under `lianban.<center>.mirror.<department>.`,
and its worker group under the department's group prefix. `department_cluster_plan` is the matching plan
for the department's own cluster.

Centers exchange case records over their own clusters (`Channel.per_peer`, `shared/topics.py`): for
each peer (by default every parent and child the centers file names), intake and supervision write
what this center sends it (`lianban.<center>.exchange.<peer>`) and read what it receives from it
(`lianban.<peer>.exchange.<center>`, mirrored in under the peer's name), literally and no more. The
MirrorMaker 2 link between the two clusters (`deploy/center_link.py`) connects here as
`exchange-<peer>`: it reads what goes out, writes what comes in (on this cluster nothing else may write
what the peer sent), and keeps its Connect topics under `lianban.<center>.exchange-mirror.<peer>.` and its
worker group `lianban-<center>-exchange-mirror-<peer>`. The generic per-channel grants (and supervision's
redrive) leave the exchange out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.admin import CreateAclsRequest_v1
from aiokafka.protocol.api import Request

from shared.messaging.broker import client_security
from shared.settings import KafkaSettings, ServiceSettings
from shared.topics import CHANNELS, EXCHANGE, PREFIX, Channel, Topics

ADMIN = "admin"
MECHANISM = "SCRAM-SHA-512"
SERVICES = ("intake", "gateway", "supervision")
DEPARTMENT = "department"  # the role a channel names for every department's own principal
MIRROR_MAKER = "mirror-maker"  # MirrorMaker 2's principal on a department's own cluster


class ResourceType(IntEnum):
    """Kafka's wire codes (org.apache.kafka.common.resource.ResourceType)."""

    TOPIC = 2
    GROUP = 3


class PatternType(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


ALLOW = 3
ANY_HOST = "*"


@dataclass(frozen=True)
class Binding:
    """One ACL: `principal` may do `operation` on the resource named `name` (or every one it begins)."""

    principal: str
    operation: Operation
    resource: ResourceType
    name: str
    pattern: PatternType = PatternType.LITERAL

    def __str__(self) -> str:
        prefixed = "*" if self.pattern is PatternType.PREFIXED else ""
        return f"User:{self.principal:<24} {self.operation.name:<8} {self.resource.name.lower():<5} {self.name}{prefixed}"


def department_principal(department: str) -> str:
    return f"{DEPARTMENT}-{department}"


def exchange_principal(peer: str) -> str:
    """The principal, on a center's cluster, of the MirrorMaker 2 link to `peer`."""
    return f"exchange-{peer}"


def center_departments() -> tuple[str, ...]:
    """Every department of the center (the departments file every process reads), with or without an
    adapter: each may run its own clients."""
    return tuple(ServiceSettings().departments())


def default_principals() -> tuple[str, ...]:
    """Every service's principal and every department's."""
    return (*SERVICES, *(department_principal(code) for code in center_departments()))


def plan(center: str, departments: Iterable[str], peers: Iterable[str] = ()) -> list[Binding]:
    """Every binding of a center, services first, then each department, then each peer center."""
    topics = Topics(center)
    peers = tuple(dict.fromkeys(peers))
    if center in peers:
        raise ValueError(f"center {center} cannot exchange cases with itself")
    bindings = [b for service in SERVICES for b in _service(topics, service)] + _lag_watch(topics) + redrive(topics)
    bindings += [b for department in departments for b in _department(topics, department)]
    return bindings + [b for peer in peers for b in _exchange(topics, peer)]


def _own_channels() -> list[Channel]:
    """The channels whose topics are this center's alone; the exchange is granted peer by peer (`_exchange`)."""
    return [c for c in CHANNELS if not c.per_peer]


def _service(topics: Topics, service: str) -> list[Binding]:
    reads = [_service_topic(topics, c) for c in _own_channels() if service in c.receivers]
    writes = [_service_topic(topics, c) for c in _own_channels() if service in c.senders]
    group = (f"lianban-{topics.center}-{service}", PatternType.LITERAL)  # shared.runtime.Runtime.group
    return _bindings(service, reads, writes, [group])


def _lag_watch(topics: Topics) -> list[Binding]:
    """Supervision reads how far each department's adapter is behind on its work (OffsetFetch, and
    FindCoordinator before it, need DESCRIBE on the group): every adapter's group, and the groups of the
    departments' own clients below it, by their common prefix, so a department added later is covered."""
    return [Binding("supervision", Operation.DESCRIBE, ResourceType.GROUP, adapter_group(topics, ""), PatternType.PREFIXED)]


def redrive(topics: Topics) -> list[Binding]:
    """Supervision's console redrives a dead letter to the topic it came from (after a fix, by a supervisor,
    recorded with who and why): it may WRITE every topic some consumer reads, and nothing more. The bytes
    are the original's, department signatures included."""
    read = [c for c in _own_channels() if c.receivers and "supervision" not in c.senders]
    return [
        Binding("supervision", Operation.WRITE, ResourceType.TOPIC, name, pattern)
        for name, pattern in dict.fromkeys(_service_topic(topics, c) for c in read)
    ]


def _department(topics: Topics, department: str) -> list[Binding]:
    reads = [(topics.of(c, department), PatternType.LITERAL) for c in CHANNELS if DEPARTMENT in c.receivers]
    writes = [(topics.of(c, department), PatternType.LITERAL) for c in CHANNELS if DEPARTMENT in c.senders]
    mirror = [(mirror_topics(topics, department), PatternType.PREFIXED)]  # its MirrorMaker's Connect topics
    group = adapter_group(topics, department)  # the adapter's; its own clients' (its mirror's too) below it
    groups = [(group, PatternType.LITERAL), (f"{group}.", PatternType.PREFIXED)]
    return _bindings(department_principal(department), reads + mirror, writes + mirror, groups)


def adapter_group(topics: Topics, department: str) -> str:
    """The department's consumer group on the center; groups of its own clients begin with it and a dot."""
    return topics.adapter_group(department)


def mirror_topics(topics: Topics, department: str) -> str:
    """The prefix of the topics MirrorMaker 2 keeps for a department's mirror (Connect's configs, offsets
    and status): its own family, so that the department's principal may have them and nothing else."""
    return f"{PREFIX}.{topics.center}.mirror.{department}."


def mirror_group(topics: Topics, department: str) -> str:
    """MirrorMaker 2's worker group for a department's mirror, under the department's group prefix."""
    return f"{adapter_group(topics, department)}.mirror"


def _exchange(topics: Topics, peer: str) -> list[Binding]:
    """The exchange with `peer`: the services the channel names send on this center's topic to the peer and
    receive on the peer's to this center; the link writes the one it brings in, reads the one it takes out,
    and keeps its Connect topics and worker group."""
    literal, center = PatternType.LITERAL, topics.center
    sent, received = [(topics.exchange(peer), literal)], [(Topics(peer).exchange(center), literal)]
    bindings = []
    for service in SERVICES:
        reads = received if service in EXCHANGE.receivers else []
        writes = sent if service in EXCHANGE.senders else []
        bindings += _bindings(service, reads, writes, [])
    internal = [(exchange_mirror_topics(center, peer), PatternType.PREFIXED)]
    group = [(exchange_mirror_group(center, peer), literal)]
    return bindings + _bindings(exchange_principal(peer), sent + internal, received + internal, group)


def exchange_mirror_topics(center: str, peer: str) -> str:
    """The prefix of the Connect topics (configs, offsets, status) the link to `peer` keeps on `center`'s cluster."""
    return f"{PREFIX}.{center}.exchange-mirror.{peer}."


def exchange_mirror_group(center: str, peer: str) -> str:
    """The worker group of the link to `peer` on `center`'s cluster."""
    return f"{PREFIX}-{center}-exchange-mirror-{peer}"


def department_cluster_plan(center: str, department: str) -> list[Binding]:
    """The bindings on a department's own cluster: its system (`department-<department>`) reads its work and
    feedback and writes its actions and acknowledgements, as on the center; MirrorMaker 2 (`mirror-maker`)
    writes what comes from the center, reads what goes to it, and keeps its Connect topics and group."""
    topics, literal = Topics(center), PatternType.LITERAL
    inbound = [(topics.work(department), literal), (topics.feedback(department), literal)]
    outbound = [(topics.actions(department), literal), (topics.acknowledgements(department), literal)]
    group = adapter_group(topics, department)
    internal = [(mirror_topics(topics, department), PatternType.PREFIXED)]
    return [
        *_bindings(department_principal(department), inbound, outbound, [(group, literal), (f"{group}.", PatternType.PREFIXED)]),
        *_bindings(MIRROR_MAKER, outbound + internal, inbound + internal, [(mirror_group(topics, department), literal)]),
    ]


def _service_topic(topics: Topics, channel: Channel) -> tuple[str, PatternType]:
    """A service uses a per-department channel for every department: its topics by their common prefix."""
    if channel.per_department:
        return topics.of(channel, ""), PatternType.PREFIXED
    return topics.of(channel), PatternType.LITERAL


def _bindings(
    principal: str,
    reads: list[tuple[str, PatternType]],
    writes: list[tuple[str, PatternType]],
    groups: list[tuple[str, PatternType]],
) -> list[Binding]:
    topic = ResourceType.TOPIC
    return [
        *(Binding(principal, Operation.READ, topic, name, pattern) for name, pattern in reads),
        *(Binding(principal, Operation.WRITE, topic, name, pattern) for name, pattern in writes),
        *(Binding(principal, Operation.CREATE, topic, name, pattern) for name, pattern in dict.fromkeys(reads + writes)),
        *(Binding(principal, Operation.READ, ResourceType.GROUP, name, pattern) for name, pattern in groups),
    ]


class AclsRefused(RuntimeError):
    """The broker refused some bindings; each with Kafka's error code and message."""


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped here
    """Every binding in one CreateAcls request (aiokafka's own builds one binding per request)."""

    API_KEY = 30

    def __init__(self, bindings: list[Binding]) -> None:
        self.bindings = bindings

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(
            [(b.resource, b.name, b.pattern, f"User:{b.principal}", ANY_HOST, b.operation, ALLOW) for b in self.bindings]
        )


async def grant(kafka: KafkaSettings, center: str, departments: Iterable[str], peers: Iterable[str] = ()) -> list[Binding]:
    """Apply a center's plan through the Admin API as the given (super) user; what is there already
    stays as it is. Raises AclsRefused naming every binding the broker refused."""
    return await apply(kafka, plan(center, departments, peers))


async def apply(kafka: KafkaSettings, bindings: list[Binding]) -> list[Binding]:
    """`grant` of any list of bindings (a department cluster's plan, say)."""
    client = AIOKafkaClient(bootstrap_servers=kafka.bootstrap_servers, **client_security(kafka))
    await client.bootstrap()
    try:
        response = await client.send(client.get_random_node(), _CreateAcls(bindings))  # forwarded to the controller
    finally:
        await client.close()
    refused = [
        f"{binding}: error {code} {message or ''}".rstrip()
        for binding, (code, message) in zip(bindings, response.creation_responses, strict=True)
        if code
    ]
    if refused:
        raise AclsRefused("\n".join(refused))
    return bindings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.kafka_acls", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["plan", "grant"], help="print the bindings, or apply them too")
    center = os.environ.get("LIANBAN_CENTER")
    parser.add_argument("--center", default=center, required=center is None, help="the center (default: $LIANBAN_CENTER)")
    parser.add_argument(
        "--department", action="append", help="a department to grant (repeatable; default: every one of the center)"
    )
    parser.add_argument(
        "--peer", action="append", help="a center this one exchanges cases with (repeatable; default: the centers file's)"
    )
    args = parser.parse_args(argv)
    departments = args.department or center_departments()
    if args.peer is None:
        args.peer = ServiceSettings().centers().peers(args.center)
    if args.command == "plan":
        bindings = plan(args.center, departments, args.peer)
    else:
        bindings = asyncio.run(grant(KafkaSettings(), args.center, departments, args.peer))
    print("\n".join(map(str, bindings)))
    print(f"{len(bindings)} binding(s) {'granted' if args.command == 'grant' else 'planned'} for center {args.center}")


if __name__ == "__main__":
    main()
