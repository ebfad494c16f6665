"""A department's own Kafka cluster, mirrored to its center by MirrorMaker 2: for `make run` and the tests.

Why: a department of the Kafka kind runs its system against its own cluster, not the center's; this starts
one (a second `LocalKafka`, secured as the center's is), grants it `department_cluster_plan`, and links it
to the center with a `MirrorLink`. Its principals: `department-<department>` for the department's system
(the same name and the same topics as on the center), `mirror-maker` for MirrorMaker 2, and `admin`, which
grants. The center's own ACLs are the center's business (`python -m deploy.kafka_acls grant`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from deploy.kafka_acls import ADMIN, MIRROR_MAKER, apply, department_cluster_plan, department_principal
from deploy.kafka_local import KafkaAccess, LocalKafka
from deploy.mirror_maker import MirrorLink


@dataclass
class DepartmentCluster:
    """One department's broker in `workdir/kafka` and its mirror to the center in `workdir/mirror`;
    `start()` returns once the mirror replicates both ways, `stop()` stops both (each by its own pid)."""

    center: str
    department: str
    center_kafka: KafkaAccess  # the center's cluster, where the mirror connects as the department
    workdir: Path
    kafka: LocalKafka = field(init=False)
    link: MirrorLink | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        principals = (department_principal(self.department), MIRROR_MAKER)
        self.kafka = LocalKafka(workdir=self.workdir / "kafka", principals=principals)

    @property
    def access(self) -> KafkaAccess:
        """How each principal reaches the department's own cluster."""
        return self.kafka.access

    def start(self, timeout: float = 120.0) -> KafkaAccess:
        access = self.kafka.start()
        try:
            asyncio.run(apply(access.settings(ADMIN), department_cluster_plan(self.center, self.department)))
            self.link = MirrorLink(self.center, self.department, self.center_kafka, access, self.workdir / "mirror")
            self.link.start(timeout)
        except BaseException:
            self.kafka.stop()
            raise
        return access

    def env_for_system(self) -> dict[str, str]:
        """The KAFKA_* variables (and the center) of the department's system, on its own cluster."""
        return {**self.access.env(department_principal(self.department)), "LIANBAN_CENTER": self.center}

    def stop(self) -> None:
        if self.link is not None:
            self.link.stop()
        self.kafka.stop()
