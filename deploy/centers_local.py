"""Several centers on this machine, each as it runs in production: its own Kafka cluster (its own ACLs), its
own services, departments and identity provider, and MirrorMaker 2 between a center and its parent for the
exchange (docs/exchange.md). For `make run CENTERS=2` and the multi-center tests.

What a real city sets up by hand is done here once: a signing key per center and a file of their public
keys every center holds (`center-keys.json`), each cluster's ACLs for its peers' links
(`deploy.kafka_acls.plan(..., peers=...)`), and a `CenterLink` per child and parent.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from deploy.center_link import CenterLink
from deploy.kafka_acls import default_principals, exchange_principal
from deploy.kafka_local import LocalKafka
from deploy.launcher import Databases, Ports, System, all_http
from shared.centers import Centers
from shared.signing import new_key_pair

# `make run CENTERS=2`: a district whose planning part is decided at its city, and the city
DEMO_CENTERS = {"xihu": ("planning", "fire"), "hangzhou": ("planning",)}


@dataclass
class LocalCenters:
    """`departments`: each center to start and its departments (each reached by its API, simulated); every
    center must be in the centers file. `calendars`: a center's own working-day overrides."""

    workdir: Path
    departments: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEMO_CENTERS))
    centers: Centers = field(default_factory=Centers.load)
    databases: Callable[[str], Databases | None] = lambda _center: None
    calendars: dict[str, Path] = field(default_factory=dict)
    ports: Callable[[int, tuple[str, ...]], Ports] = lambda n, _departments: Ports.of_center(n)
    env: dict[str, str] = field(default_factory=dict)  # for every process of every center
    kafkas: dict[str, LocalKafka] = field(default_factory=dict)
    systems: dict[str, System] = field(default_factory=dict)
    links: dict[tuple[str, str], CenterLink] = field(default_factory=dict)  # (child, parent)

    def __post_init__(self) -> None:
        unknown = [c for c in self.departments if c not in self.centers]
        if unknown:
            raise ValueError(f"not in the centers file: {unknown}")

    @property
    def center_keys(self) -> Path:
        return self.workdir / "keys" / "center-keys.json"

    def start(self, timeout: float = 120.0) -> None:
        """Every center's cluster and system, then the links; on failure what started is stopped."""
        try:
            self._keys()
            with ThreadPoolExecutor(len(self.departments)) as pool:  # the centers side by side: each waits on its own
                started = [
                    pool.submit(self._start_center, n, center, departments, timeout)
                    for n, (center, departments) in enumerate(self.departments.items())
                ]
                for future in started:
                    future.result()
            for child in self.departments:
                parent = self.centers.parent(child)
                if parent in self.departments:
                    self.links[(child, parent)] = CenterLink(
                        child, self.kafkas[child].access, parent, self.kafkas[parent].access, self.workdir / f"link-{child}"
                    )
            if self.links:
                with ThreadPoolExecutor(len(self.links)) as pool:  # each MirrorMaker's JVM starts on its own
                    for future in [pool.submit(link.start, timeout) for link in self.links.values()]:
                        future.result()
        except BaseException:
            self.stop()
            raise

    def _start_center(self, n: int, center: str, departments: tuple[str, ...], timeout: float) -> None:
        peers = tuple(self.centers.peers(center))
        kafka = self.kafkas[center] = LocalKafka(
            workdir=self.workdir / center / "kafka", principals=(*default_principals(), *map(exchange_principal, peers))
        )
        access = kafka.start()
        env = self.env | ({"LIANBAN_CALENDAR_OVERRIDES": str(self.calendars[center])} if center in self.calendars else {})
        system = self.systems[center] = System(
            kafka=access,
            workdir=self.workdir / center / "services",
            center=center,
            ports=self.ports(n, departments),
            bridges=all_http(*departments),
            env=env,
            databases=self.databases(center),
            peers=peers,
            center_keys=self.center_keys,
            center_key=(self.center_keys.parent / f"{center}.pem", f"{center}-1"),
        )
        system.start(timeout)

    def _keys(self) -> None:
        """A signing key per center and the file of their public keys, kept across restarts."""
        if self.center_keys.exists():
            return
        public = {}
        for center in self.departments:
            _, key = new_key_pair(self.center_keys.parent, center)
            public[center] = [{"key_id": f"{center}-1", "algorithm": "ed25519", "public_key": key}]
        self.center_keys.write_text(json.dumps(public, indent=1))

    def stop(self) -> None:
        """Links first (nothing left to carry), then each center's processes, then its cluster."""
        for link in self.links.values():
            with contextlib.suppress(Exception):
                link.stop()
        for system in self.systems.values():
            with contextlib.suppress(Exception):
                system.stop()
        for kafka in self.kafkas.values():
            with contextlib.suppress(Exception):
                kafka.stop()
