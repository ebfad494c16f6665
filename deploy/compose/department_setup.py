"""docker-compose.yml's one-shot `kafka-<department>-setup`: on a department's own cluster, what
`deploy.department_cluster.DepartmentCluster.start` does there before the mirror starts under `make run`.

Its ACLs (`deploy.kafka_acls.department_cluster_plan`), granted as the cluster's admin (KAFKA_*); then every
mirrored topic on both clusters with as many partitions on the target as on the source
(`deploy.mirror_maker.MirrorLink`, as the mirror connects: the department's principal on the center's
cluster, `mirror-maker` on its own), so MirrorMaker 2 never has to create one. Both steps are idempotent.
The mirror's settings (LIANBAN_MIRROR_*) are those deploy/compose/mirror-maker.sh reads.

    python deploy/compose/department_setup.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.kafka_acls import MIRROR_MAKER, apply, department_cluster_plan, department_principal
from deploy.kafka_local import KafkaAccess
from deploy.mirror_maker import MirrorLink
from shared.settings import KafkaSettings


class MirrorSettings(BaseSettings):
    """The two clusters of a department's mirror and the password of each side's principal."""

    model_config = SettingsConfigDict(env_prefix="LIANBAN_MIRROR_", extra="ignore")

    center: str = Field(..., validation_alias="LIANBAN_CENTER")
    department: str = Field(..., pattern=r"^[a-z0-9_]+$")
    center_bootstrap: str = Field(..., description="The center's cluster, where the mirror is the department's principal.")
    center_password: str
    department_bootstrap: str = Field(..., description="The department's own cluster, where the mirror is `mirror-maker`.")
    department_password: str

    def link(self) -> MirrorLink:
        center = KafkaAccess(self.center_bootstrap, {department_principal(self.department): self.center_password})
        department = KafkaAccess(self.department_bootstrap, {MIRROR_MAKER: self.department_password})
        return MirrorLink(self.center, self.department, center, department, Path("."))


async def setup(admin: KafkaSettings, mirror: MirrorSettings) -> None:
    granted = await apply(admin, department_cluster_plan(mirror.center, mirror.department))
    print(f"{len(granted)} binding(s) granted on {admin.bootstrap_servers} for {mirror.department} of {mirror.center}")
    link = mirror.link()
    await link._prepare_topics()  # the launcher's own step, as MirrorLink.start takes it
    print(f"mirrored topics ready on both clusters: {', '.join((*link.inbound, *link.outbound))}")


def main() -> None:
    asyncio.run(setup(KafkaSettings(), MirrorSettings()))


if __name__ == "__main__":
    main()
