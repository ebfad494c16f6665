"""Starts the whole system as separate processes: services, and per bridged department its adapter
and a simulated system of its bridge's kind (an API; a system behind a file ferry with its
`lianban-ferry` agent; one working off an intermediate database; one on its own Kafka cluster,
mirrored by MirrorMaker 2), each on Kafka as its own principal. Shared by `make run`, the end-to-end
tests and the benchmark."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.department_cluster import DepartmentCluster
from deploy.dev_issuer import DevIssuer
from deploy.kafka_acls import ADMIN, center_departments, department_principal, grant
from deploy.kafka_local import KafkaAccess
from deploy.postgres_local import create_database
from shared.departments import Bridge, bridged
from shared.settings import ServiceSettings
from shared.signing import new_key_pair
from shared.topics import Topics

Databases = Callable[[str], str]  # a component's name -> the URL of its own database


def sqlite_databases(workdir: Path) -> Databases:
    """The embedded default: an SQLite file per component in the work directory."""
    return lambda name: f"sqlite+aiosqlite:///{workdir / name}.db"


def postgres_databases(server_url: str, prefix: str, *, fresh: bool = True) -> Databases:
    """A PostgreSQL database per component on this server (each service owns its schema); new and
    empty when `fresh`, else the one kept from the last run."""
    return lambda name: asyncio.run(create_database(server_url, f"{prefix}_{name}", fresh=fresh))


def catalog_bridges() -> dict[str, Bridge]:
    """The bridged departments and their bridges, as the center's departments file says."""
    return bridged(ServiceSettings().departments())


def all_http(*departments: str) -> dict[str, Bridge]:
    """These departments, each reached by its API: the bridge of the tests and the bench that are not about bridges."""
    return dict.fromkeys(departments, "http")


@dataclass(frozen=True)
class Ports:
    issuer: int = 8100  # the development identity provider, unless the system is given a real one
    intake: int = 8101
    gateway: int = 8102
    supervision: int = 8103
    adapters: int = 8111  # one port per department from here
    simulators: int = 8201
    agents: int = 8251  # a ferry agent's health port, per department

    @classmethod
    def of_center(cls, n: int) -> Ports:
        """The ports of the n-th center started on one machine (0: the defaults; then a thousand up each)."""
        return cls(**{name: port + 1000 * n for name, port in vars(cls()).items()})


@dataclass
class Component:
    name: str
    module: str
    env: dict[str, str]
    health_url: str
    principal: str | None = None  # whom it connects to Kafka as; None: it does not
    process: subprocess.Popen[bytes] | None = None


@dataclass
class System:
    kafka: KafkaAccess
    workdir: Path
    center: str = "demo"
    ports: Ports = field(default_factory=Ports)
    bridges: dict[str, Bridge] = field(default_factory=catalog_bridges)  # the departments started, and how each is reached
    env: dict[str, str] = field(default_factory=dict)
    databases: Databases | None = None  # SQLite files in the work directory unless given
    identity_provider: str | None = None  # an OIDC issuer URL (Keycloak...); else the development issuer is started
    issuer_dir: Path | None = None  # the development issuer's key; in the work directory unless given
    components: dict[str, Component] = field(default_factory=dict)
    clusters: dict[str, DepartmentCluster] = field(default_factory=dict)  # departments on their own Kafka
    peers: tuple[str, ...] = ()  # the centers this one exchanges cases with (its cluster grants their links)
    center_keys: Path | None = None  # their registered public keys; with `center_key`, intake exchanges
    center_key: tuple[Path, str] | None = None  # this center's signing key and the id its peers know it by

    @property
    def departments(self) -> tuple[str, ...]:
        return tuple(self.bridges)

    @property
    def auth_issuer(self) -> str:
        """The issuer every service verifies tokens against."""
        return self.identity_provider or self.url("issuer")

    @property
    def issuer_path(self) -> Path:
        """Where the development issuer keeps its key."""
        return self.issuer_dir or self.workdir / "issuer"

    @property
    def issuer(self) -> DevIssuer:
        """The development issuer, to mint tokens as `lianban token` does (once the system has started)."""
        return DevIssuer.load(self.issuer_path)

    @property
    def topics(self) -> Topics:
        return Topics(self.center)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{getattr(self.ports, service)}"

    def audit_env(self) -> dict[str, str]:
        """What `lianban audit verify` needs to read this system's record (once it has started)."""
        database = self.components["supervision"].env["LIANBAN_SUPERVISION_DATABASE_URL"]
        return {"LIANBAN_SUPERVISION_DATABASE_URL": database, "LIANBAN_KEY_REGISTRY": str(self._key_registry)}

    def simulator_url(self, department: str) -> str:
        return f"http://127.0.0.1:{self.ports.simulators + self.departments.index(department)}"

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.grant()
        self.register_keys()
        for department in self._on(("kafka",)):
            self.clusters[department] = cluster = DepartmentCluster(
                self.center, department, self.kafka, self.workdir / f"kafka-{department}"
            )
            cluster.start()
        for component in self._plan():
            self.components[component.name] = component
            self._spawn(component)
        for component in self.components.values():
            self._wait_healthy(component, timeout)

    def grant(self) -> None:
        """The center's ACLs, before any component needs them, on a cluster whose principals are ours
        (on someone else's cluster they are the operator's business: `python -m deploy.kafka_acls`)."""
        if self.kafka.provisioned:
            asyncio.run(grant(self.kafka.settings(ADMIN), self.center, center_departments(), self.peers))

    def register_keys(self) -> None:
        """An Ed25519 key per bridged department (its adapter, or its system on its own Kafka, signs what it
        sends; a ferry agent has one more, for its bundles) and the center's key registry of their public
        keys; intake then refuses an unsigned or forged action. Kept across restarts."""
        if self._key_registry.exists():
            return
        public: dict[str, list[dict[str, str]]] = {}
        for department, bridge in self.bridges.items():
            names = [department, f"{department}-ferry"] if bridge == "ferry" else [department]
            for name in names:
                _, key = new_key_pair(self._key_registry.parent, name)
                public.setdefault(department, []).append({"key_id": _key_id(name), "algorithm": "ed25519", "public_key": key})
        self._key_registry.parent.mkdir(parents=True, exist_ok=True)  # a center may have no bridged department
        self._key_registry.write_text(json.dumps(public, indent=1))

    def _key(self, name: str, prefix: str) -> dict[str, str]:
        """The signing key of `name` (a department, or its ferry agent), as `<prefix>SIGNING_KEY(_ID)`."""
        return {f"{prefix}SIGNING_KEY": str(self._key_registry.parent / f"{name}.pem"), f"{prefix}SIGNING_KEY_ID": _key_id(name)}

    def _on(self, kinds: tuple[str, ...]) -> list[str]:
        return [d for d, bridge in self.bridges.items() if bridge in kinds]

    @property
    def _key_registry(self) -> Path:
        return self.workdir / "keys" / "registry.json"

    def _signing(self, component: Component) -> dict[str, str]:
        if component.name == "intake":
            required = {"LIANBAN_INTAKE_REQUIRE_SIGNATURES": "true"}
            return {"LIANBAN_KEY_REGISTRY": str(self._key_registry), **required, **self._exchange()}
        if component.name == "supervision":  # it checks the signatures in its record
            return {"LIANBAN_KEY_REGISTRY": str(self._key_registry), **self._exchange()}
        if component.name.startswith("adapter-"):
            key = self._key(component.name.removeprefix("adapter-"), "LIANBAN_ADAPTER_")
            return key | {"LIANBAN_KEY_REGISTRY": str(self._key_registry)}  # a ferry checks the agent's bundles
        if component.name.startswith("ferry-"):
            department = component.name.removeprefix("ferry-")
            return self._key(f"{department}-ferry", "LIANBAN_FERRY_") | {"LIANBAN_FERRY_KEY_REGISTRY": str(self._key_registry)}
        if component.name.startswith("simulator-") and self.bridges[component.name.removeprefix("simulator-")] == "kafka":
            return self._key(component.name.removeprefix("simulator-"), "LIANBAN_SIM_")  # it signs its own actions
        return {}

    def _exchange(self) -> dict[str, str]:
        """What intake and supervision of a center with peers need: their keys, and this center's own."""
        if not (self.center_keys and self.center_key):
            return {}
        return {
            "LIANBAN_CENTER_KEYS": str(self.center_keys),
            "LIANBAN_CENTER_SIGNING_KEY": str(self.center_key[0]),
            "LIANBAN_CENTER_SIGNING_KEY_ID": self.center_key[1],
        }

    def _plan(self) -> list[Component]:
        db = self.databases or sqlite_databases(self.workdir)
        plan = [] if self.identity_provider else [self._issuer()]
        plan += [
            Component(
                "intake",
                "services.intake",
                {"LIANBAN_INTAKE_PORT": str(self.ports.intake), "LIANBAN_INTAKE_DATABASE_URL": db("intake")},
                self.url("intake"),
                "intake",
            ),
            Component(
                "gateway",
                "services.gateway",
                {"LIANBAN_GATEWAY_PORT": str(self.ports.gateway), "LIANBAN_GATEWAY_DATABASE_URL": db("gateway")},
                self.url("gateway"),
                "gateway",
            ),
            Component(
                "supervision",
                "services.supervision",
                {"LIANBAN_SUPERVISION_PORT": str(self.ports.supervision), "LIANBAN_SUPERVISION_DATABASE_URL": db("supervision")},
                self.url("supervision"),
                "supervision",
            ),
        ]
        for i, department in enumerate(self.departments):
            plan += self._bridge(i, department, db)
        return plan

    def _bridge(self, i: int, department: str, db: Databases) -> list[Component]:
        """A department's adapter and its simulated system, of its bridge's kind (and, on a ferry, the agent)."""
        bridge = self.bridges[department]
        sim_port, adapter_port = self.ports.simulators + i, self.ports.adapters + i
        sim = {
            "LIANBAN_SIM_DEPARTMENT": department,
            "LIANBAN_SIM_PORT": str(sim_port),
            "LIANBAN_SIM_INTAKE_URL": self.url("intake"),
        }
        adapter = {
            "LIANBAN_ADAPTER_DEPARTMENT": department,
            "LIANBAN_ADAPTER_PORT": str(adapter_port),
            "LIANBAN_ADAPTER_CONNECTOR": bridge,
            "LIANBAN_ADAPTER_INTAKE_URL": self.url("intake"),
            "LIANBAN_ADAPTER_DATABASE_URL": db(f"adapter-{department}"),
        }
        module = "deploy.simulators"
        extra: list[Component] = []
        if bridge == "http":
            adapter["LIANBAN_ADAPTER_CONNECTOR_URL"] = f"http://127.0.0.1:{sim_port}"
        elif bridge == "ferry":  # one directory each way; on a real ferry, the 网闸 copies between two
            ferry = self.workdir / "ferry" / department
            for side in ("to-department", "to-center"):
                (ferry / side).mkdir(parents=True, exist_ok=True)
            adapter |= {
                "LIANBAN_ADAPTER_FERRY_OUTGOING": str(ferry / "to-department"),
                "LIANBAN_ADAPTER_FERRY_INCOMING": str(ferry / "to-center"),
            }
            agent_port = self.ports.agents + i
            agent = {
                "LIANBAN_FERRY_DEPARTMENT": department,
                "LIANBAN_FERRY_INCOMING": str(ferry / "to-department"),
                "LIANBAN_FERRY_OUTGOING": str(ferry / "to-center"),
                "LIANBAN_FERRY_SYSTEM_URL": f"http://127.0.0.1:{sim_port}",
                "LIANBAN_FERRY_INTAKE_URL": self.url("intake"),
                "LIANBAN_FERRY_DATABASE_URL": f"sqlite+aiosqlite:///{ferry / 'agent.db'}",
                "LIANBAN_FERRY_PORT": str(agent_port),
            }
            extra.append(Component(f"ferry-{department}", "services.ferry_agent", agent, f"http://127.0.0.1:{agent_port}"))
        elif bridge == "database":
            interface = db(f"interface-{department}")  # the intermediate database (中间库) both sides reach
            adapter["LIANBAN_ADAPTER_INTERFACE_DATABASE_URL"] = interface
            sim["LIANBAN_SIM_INTERFACE_DATABASE_URL"] = interface
            module = "deploy.simulators.database_system"
        elif bridge == "kafka":  # the system reads and writes its own cluster only; MirrorMaker 2 carries both ways
            own = self.clusters[department].env_for_system() if department in self.clusters else {}
            sim |= own
            adapter |= {f"LIANBAN_ADAPTER_MIRROR_{k}": v for k, v in own.items() if k.startswith("KAFKA_")}
            module = "deploy.simulators.kafka_system"
        return [
            Component(f"simulator-{department}", module, sim | self._service_account(), f"http://127.0.0.1:{sim_port}"),
            *extra,
            Component(
                f"adapter-{department}",
                "services.department_adapter",
                adapter,
                f"http://127.0.0.1:{adapter_port}",
                department_principal(department),
            ),
        ]

    def _service_account(self) -> dict[str, str]:
        """How a simulated department system gets its token to fetch its files: from the development issuer
        (a real identity provider would give it a client of its own)."""
        return {} if self.identity_provider else {"LIANBAN_DEV_ISSUER_DIR": str(self.issuer_path)}

    def _issuer(self) -> Component:
        return Component(
            "issuer",
            "deploy.dev_issuer",
            {
                "LIANBAN_DEV_ISSUER_PORT": str(self.ports.issuer),
                "LIANBAN_DEV_ISSUER_DIR": str(self.issuer_path),
                "LIANBAN_DEV_ISSUER_URL": self.url("issuer"),
            },
            self.url("issuer"),
        )

    def _spawn(self, component: Component) -> None:
        env = {
            **os.environ,
            **(self.kafka.env(component.principal) if component.principal else {}),
            "LIANBAN_CENTER": self.center,
            "LIANBAN_INSTANCE": component.name,  # one process each: static group members
            "LIANBAN_AUTH_ISSUER": self.auth_issuer,
            "LIANBAN_MATERIALS_ROOT": str(self.workdir / "materials"),  # the center's files (or S3 given in env)
            **self._signing(component),
            **self.env,
            **component.env,
        }
        log = open(self.workdir / f"{component.name}.log", "ab")  # noqa: SIM115 - owned by the process
        component.process = subprocess.Popen(
            [sys.executable, "-m", component.module], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _wait_healthy(self, component: Component, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert component.process is not None
            if component.process.poll() is not None:
                raise RuntimeError(f"{component.name} exited; see {self.workdir / component.name}.log")
            try:
                if httpx.get(f"{component.health_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{component.name} not healthy after {timeout}s")

    def kill(self, name: str) -> None:
        """Kill a component outright (SIGKILL), as a crash would."""
        process = self.components[name].process
        assert process is not None
        process.kill()
        process.wait()

    def restart(self, name: str, timeout: float = 60.0) -> None:
        component = self.components[name]
        self._spawn(component)
        self._wait_healthy(component, timeout)

    def stop(self) -> None:
        running = [c.process for c in self.components.values() if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for cluster in self.clusters.values():
            cluster.stop()


def _key_id(department: str) -> str:
    """The id a department's signing key is registered under in a launched system."""
    return f"{department}-1"
