"""MirrorMaker 2 between two centers' Kafka clusters (a city and one of its districts), as a local process.

Why: each center runs its own cluster, and what one center sends another (a part transferred up, its
result back) is written on the sender's cluster, on `lianban.<center>.exchange.<peer>`. Kafka's own mirror,
not a home-made bridge, copies it under the same name onto the peer's cluster, where the peer's intake
reads it; the peer's topic to this center comes back the same way. A link down for hours loses nothing:
each flow's source offsets are stored on its target cluster and resumed at restart. After a kill -9 at
most about a second of records is copied again (offsets are flushed every second); the receiving intake
handles each record idempotently, so a repeat changes nothing.

The ACLs on each cluster are `deploy.kafka_acls.plan(center, departments, peers=[peer])`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploy.kafka_acls import exchange_mirror_group, exchange_mirror_topics, exchange_principal
from deploy.kafka_local import KafkaAccess
from deploy.mirror_maker import Cluster, TwoWayMirror
from shared.topics import Topics


@dataclass
class CenterLink(TwoWayMirror):
    """The exchange between `center` and `peer`: `lianban.<center>.exchange.<peer>` from the center's cluster
    to the peer's, `lianban.<peer>.exchange.<center>` back. On each cluster it connects as the link to the
    other center (`exchange-<other>`), and the flow that writes there keeps its Connect topics and group
    under that cluster's names for the link (`lianban.<here>.exchange-mirror.<other>.`)."""

    center: str
    kafka: KafkaAccess
    peer: str
    peer_kafka: KafkaAccess
    workdir: Path

    def __post_init__(self) -> None:
        if self.center == self.peer:
            raise ValueError(f"center {self.center} cannot be linked to itself")

    @property
    def ends(self) -> tuple[Cluster, Cluster]:
        return _cluster(self.center, self.kafka, self.peer), _cluster(self.peer, self.peer_kafka, self.center)

    @property
    def carried(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (Topics(self.center).exchange(self.peer),), (Topics(self.peer).exchange(self.center),)


def _cluster(center: str, kafka: KafkaAccess, peer: str) -> Cluster:
    """`center`'s cluster as its link to `peer` reaches it and keeps its Connect worker there."""
    return Cluster(
        center,
        kafka.settings(exchange_principal(peer)),
        exchange_mirror_topics(center, peer),
        exchange_mirror_group(center, peer),
    )
