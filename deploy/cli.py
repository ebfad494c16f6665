"""`lianban`: the operators' command line. Databases (migrate, check, new revision), one case as the
window and supervision see it, and the dead letters of the center."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import TopicAuthorizationFailedError
from alembic import command

from deploy import dev_issuer
from deploy.dev_issuer import DevIssuer
from services.department_adapter.adapters.ferry_connector import waive_bundle
from services.department_adapter.adapters.orm import SCHEMA as ADAPTER
from services.department_adapter.settings import AdapterSettings
from services.gateway.adapters.orm import SCHEMA as GATEWAY
from services.gateway.settings import GatewaySettings
from services.intake.adapters.orm import SCHEMA as INTAKE
from services.intake.service_layer.retention import expire
from services.intake.settings import IntakeSettings
from services.supervision.adapters.orm import SCHEMA as SUPERVISION
from services.supervision.domain.chain import Anchor
from services.supervision.service_layer.seal import audit, ledger_head
from services.supervision.settings import SupervisionSettings
from shared.contracts import STATE_TEXT, CloudEvent, DeadLetter, MalformedEvent
from shared.db import SessionFactory, make_engine, session_factory
from shared.identity import Role
from shared.materials import open_store
from shared.messaging.broker import client_security
from shared.migrations import Schema, current_revision, drift, migrate
from shared.settings import KafkaSettings, ServiceSettings
from shared.signing import KeyRegistry, new_key_pair
from shared.topics import Topics
from shared.workdays import CHINA

SCHEMAS = {s.name: s for s in (INTAKE, GATEWAY, SUPERVISION, ADAPTER)}


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.run(args)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="lianban", description="Lianban 联办: operate a center's services.")
    commands = top.add_subparsers(required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="each service's database: migrate, check, new revision").add_subparsers(
        required=True, metavar="ACTION"
    )
    upgrade = db.add_parser("upgrade", help="migrate every service's database to the newest revision")
    upgrade.add_argument(
        "--department", action="append", default=[], help="also the adapter database of this department (repeatable)"
    )
    upgrade.set_defaults(run=lambda a: asyncio.run(db_upgrade(a.department)))
    check = db.add_parser("check", help="whether the models and the migrations agree (on a scratch SQLite)")
    check.set_defaults(run=lambda a: asyncio.run(db_check()))
    revision = db.add_parser("revision", help="write a new migration for a service, generated from its models")
    revision.add_argument("--service", required=True, choices=sorted(SCHEMAS))
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(run=lambda a: asyncio.run(db_revision(SCHEMAS[a.service], a.message)))

    case = commands.add_parser("case", help="one case").add_subparsers(required=True, metavar="ACTION")
    show = case.add_parser("show", help="the case at the lead window and under supervision")
    show.add_argument("case_id")
    show.add_argument("--json", action="store_true", help="the raw answers, as JSON")
    show.set_defaults(run=lambda a: case_show(a.case_id, a.json))

    audit = commands.add_parser("audit", help="supervision's tamper-evident record").add_subparsers(
        required=True, metavar="ACTION"
    )
    verify = audit.add_parser(
        "verify", help="recompute every case's hash chain and the center's ledger, check every signature (exit 1 if broken)"
    )
    verify.add_argument(
        "--anchor",
        action="append",
        type=Anchor.parse,
        default=[],
        metavar="POSITION:HASH",
        help="a ledger head copied out earlier (`lianban audit head`): the ledger must still hold it; repeatable",
    )
    verify.set_defaults(run=lambda a: sys.exit(asyncio.run(audit_verify(a.anchor))))
    head = audit.add_parser("head", help="the ledger's head, POSITION:HASH, to keep outside the database as an anchor")
    head.set_defaults(run=lambda a: print(asyncio.run(audit_head())))

    materials = commands.add_parser("materials", help="the center's material files").add_subparsers(
        required=True, metavar="ACTION"
    )
    expiry = materials.add_parser(
        "expire", help="remove the files past their retention (LIANBAN_INTAKE_MATERIAL_RETENTION_DAYS); run it daily"
    )
    expiry.add_argument("--keep-days", type=int, help="instead of the configured retention period")
    expiry.set_defaults(run=lambda a: print(asyncio.run(materials_expire(a.keep_days))))

    mint = commands.add_parser("token", help="a token from the development issuer of `make run` (not for production)")
    mint.add_argument("--role", required=True, choices=[r.value for r in Role])
    mint.add_argument("--department", help="for --role department (and the lead department of window staff)")
    mint.add_argument("--id-number", help="for --role applicant: the applicant's ID number")
    mint.add_argument("--subject", help="the staff id recorded on what the token does (default: <role>-dev)")
    mint.add_argument("--ttl", type=int, default=8 * 3600, help="seconds the token is valid")
    mint.set_defaults(run=lambda a: print(token(a.role, a.subject, a.department, a.id_number, a.ttl)))

    letters = commands.add_parser("dead-letters", help="messages no consumer could handle").add_subparsers(
        required=True, metavar="ACTION"
    )
    listing = letters.add_parser("list", help="every dead letter of the center, oldest first, with its cause")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(run=lambda a: asyncio.run(dead_letters_list(a.limit)))

    ferry = commands.add_parser("ferry", help="a department's file ferry (网闸/光闸)").add_subparsers(
        required=True, metavar="ACTION"
    )
    waiver = ferry.add_parser("waive", help="give up on a bundle of the department's that never came: the later ones apply")
    waiver.add_argument("--seq", type=int, required=True, help="the missing bundle's number (the bridge report's `missing`)")
    waiver.add_argument("--department", help="the adapter's department (default: LIANBAN_ADAPTER_DEPARTMENT)")
    waiver.set_defaults(run=lambda a: print(asyncio.run(ferry_waive(a.department, a.seq))))

    key = commands.add_parser("key", help="signing keys (a center's, a department's)").add_subparsers(
        required=True, metavar="ACTION"
    )
    new_key = key.add_parser("new", help="a new Ed25519 key: the private half in DIR/NAME.pem, its registry entry printed")
    new_key.add_argument("name", help="the center or department code the key signs for")
    new_key.add_argument("--dir", type=Path, default=Path("keys"), help="where the private key is written (mode 0600)")
    new_key.add_argument("--key-id", help="the id the peers register it under (default: NAME-1)")
    new_key.set_defaults(run=lambda a: print(key_new(a.name, a.dir, a.key_id)))
    return top


def key_new(name: str, directory: Path, key_id: str | None) -> str:
    """The registry entry to send to whoever checks this key's signatures (a center's peers, the center for a
    department): `{"<name>": [{"key_id", "algorithm", "public_key"}]}`, to merge into their file."""
    path, public = new_key_pair(directory, name)
    entry = {name: [{"key_id": key_id or f"{name}-1", "algorithm": "ed25519", "public_key": public}]}
    return f"# private key: {path} (keep it with the signer)\n{json.dumps(entry, ensure_ascii=False)}"


def _databases(departments: list[str]) -> list[tuple[Schema, ServiceSettings, str]]:
    """Each service's schema, settings and database name, from this environment (as the services read it)."""
    found: list[tuple[Schema, ServiceSettings, str]] = [
        (INTAKE, IntakeSettings(), "intake"),
        (GATEWAY, GatewaySettings(), "gateway"),
        (SUPERVISION, SupervisionSettings(), "supervision"),
    ]
    found += [(ADAPTER, AdapterSettings(department=d), f"adapter-{d}") for d in departments]
    return found


async def db_upgrade(departments: list[str]) -> None:
    for schema, settings, name in _databases(departments):
        engine = make_engine(settings.database(name))
        try:
            await migrate(engine, schema)
            print(f"{name}: at revision {await current_revision(engine)}")
        finally:
            await engine.dispose()


@asynccontextmanager
async def _sessions(url: str) -> AsyncIterator[SessionFactory]:
    """Sessions on a service's database, its engine disposed after."""
    engine = make_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _scratch(schema: Schema, work: Callable[[Any], Any]) -> Any:
    engine = make_engine(f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'scratch.db'}")
    try:
        await migrate(engine, schema)
        return await work(engine)
    finally:
        await engine.dispose()


async def db_check() -> None:
    differences = {name: await _scratch(schema, partial(drift, schema=schema)) for name, schema in SCHEMAS.items()}
    for name, found in differences.items():
        print(f"{name}: {found or 'models and migrations agree'}")
    if any(differences.values()):
        sys.exit("the models changed without a migration: `lianban db revision --service NAME -m '...'`")


async def db_revision(schema: Schema, message: str) -> None:
    """The next numbered revision (0003, 0004...), written from what the models have that the migrations lack."""
    following = f"{int(schema.head()) + 1:04d}"

    async def write(engine: Any) -> None:
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda c: command.revision(schema.config(c), message=message, autogenerate=True, rev_id=following)
            )

    await _scratch(schema, write)


async def ferry_waive(department: str | None, seq: int) -> str:
    """Recorded in the adapter's database, as the adapter reads it; the running adapter applies the bundles
    that waited for it at its next read."""
    settings = AdapterSettings(department=department) if department else AdapterSettings()
    async with _sessions(settings.database(f"adapter-{settings.department}")) as sessions:
        try:
            return await waive_bundle(sessions, seq, datetime.now(UTC))
        except ValueError as exc:
            sys.exit(str(exc))


def case_show(case_id: str, raw: bool) -> None:
    intake, supervision = IntakeSettings(), SupervisionSettings()
    window = _get(f"http://{intake.host}:{intake.port}/api/v1/cases/{case_id}")
    watched = _get(f"http://{supervision.host}:{supervision.port}/api/v1/supervision/cases/{case_id}")
    if raw:
        print(json.dumps({"intake": window, "supervision": watched}, ensure_ascii=False, indent=2))
        return
    if window is None:
        sys.exit(f"未找到该办件 no case {case_id}")
    case = window["case"]
    owing = "、".join(window["owes_next_step"]) or "无"
    print(f"{case['case_id']} {case['matter_name']}：{window['state_text']}（待办：{owing}）")
    deadlines = {p["work_order_id"]: p for p in (watched or {}).get("parts", [])}
    for part in case["parts"]:
        clock = deadlines.get(part["work_order_id"], {})
        print(
            f"  {part['department_name'] or part['department']} {part['part_name']}：{STATE_TEXT[part['state']]}"
            f"  时限 {_local(clock.get('deadline'))} {clock.get('state_text', '')}"
        )
    for entry in (watched or {}).get("timeline", []):
        print(f"  {_local(entry['occurred_at'])}  {entry['event_type']}  {entry['department'] or ''}")


def _local(moment: str | None) -> str:
    """A time as the center reads it (China Standard Time)."""
    return f"{datetime.fromisoformat(moment).astimezone(CHINA):%Y-%m-%d %H:%M:%S}" if moment else "—"


async def audit_verify(anchors: list[Anchor]) -> int:
    """Read supervision's database as configured (LIANBAN_SUPERVISION_DATABASE_URL) and check its chains, the
    anchors given and, with the center's key registry (LIANBAN_KEY_REGISTRY), every signature it keeps."""
    settings = SupervisionSettings()
    registry = KeyRegistry.load(settings.key_registry) if settings.key_registry else None
    async with _sessions(settings.database("supervision")) as sessions:
        report = await audit(sessions, registry, anchors)
    for problem in report.problems:
        print(f"BROKEN {problem}")
    checked = "checked" if report.signatures_checked else "NOT checked (no LIANBAN_KEY_REGISTRY)"
    print(f"{report.signed} signed actions, signatures {checked}; {len(anchors)} anchors checked")
    verdict = f"{len(report.problems)} problems" if report.problems else "intact"
    integrity = "校验通过" if report.intact else "受损"
    print(f"{report.sealed} entries sealed, {report.waiting} waiting to be sealed: {verdict} 完整性{integrity}")
    return 0 if report.intact else 1


async def materials_expire(keep_days: int | None) -> str:
    """Intake's database and the material store, as intake reads them."""
    settings = IntakeSettings()
    keep = timedelta(days=settings.material_retention_days if keep_days is None else keep_days)
    store = open_store(settings.materials)
    await store.start()
    try:
        async with _sessions(settings.database("intake")) as sessions:
            removed = await expire(sessions, store, keep, datetime.now(UTC))
    finally:
        await store.stop()
    return f"{removed.files} files past {keep.days} days of retention removed ({removed.bytes} bytes) 已删除过期材料"


async def audit_head() -> str:
    async with _sessions(SupervisionSettings().database("supervision")) as sessions:
        position, digest = await ledger_head(sessions)
    return f"{position}:{digest}"


def token(role: str, subject: str | None, department: str | None, id_number: str | None, ttl: int) -> str:
    """Minted with the key the development issuer keeps (LIANBAN_DEV_ISSUER_DIR, `.run/issuer` for `make run`)."""
    issuer = DevIssuer.load(dev_issuer.default_dir())
    center = None if role == Role.APPLICANT else ServiceSettings().center
    return issuer.mint(role, subject or f"{role}-dev", center=center, department=department, id_number=id_number, ttl=ttl)


def _credentials() -> dict[str, str]:
    """LIANBAN_TOKEN (an administrator's token from the center's provider), or on a development system one
    minted from its issuer's key."""
    bearer = os.environ.get("LIANBAN_TOKEN") or (
        token(Role.ADMIN, "lianban-cli", None, None, 300) if dev_issuer.default_dir().exists() else ""
    )
    return {"Authorization": f"Bearer {bearer}"} if bearer else {}


def _get(url: str) -> Any:
    response = httpx.get(url, headers=_credentials(), timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


async def dead_letters_list(limit: int) -> None:
    """Read as the KAFKA_* environment's principal: on a secured cluster, the operators' (admin)."""
    kafka = KafkaSettings()
    topic = Topics(IntakeSettings().center).dead_letters
    try:
        letters = await _read_letters(kafka, topic, limit)
    except TopicAuthorizationFailedError:
        sys.exit(f"{kafka.sasl_username or 'this client'} may not read {topic}: the center's operators read it (as admin)")
    for raw in letters[:limit]:
        print(_letter_line(raw))
    print(f"{min(len(letters), limit)} dead letter(s) on {topic}")


async def _read_letters(kafka: KafkaSettings, topic: str, limit: int) -> list[bytes | None]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id=f"lianban-cli-{uuid.uuid4().hex[:6]}",
        **client_security(kafka),
    )
    await consumer.start()
    letters: list[bytes | None] = []
    try:
        deadline = time.monotonic() + 15
        while not consumer.assignment() and time.monotonic() < deadline:  # every partition, once metadata came
            letters += [r.value for rs in (await consumer.getmany(timeout_ms=200)).values() for r in rs]
        ends = await consumer.end_offsets(list(consumer.assignment()))
        deadline = time.monotonic() + 60  # a broker that goes away mid-read does not hold the command forever
        while (
            len(letters) < limit
            and time.monotonic() < deadline
            and any([await consumer.position(p) < end for p, end in ends.items()])
        ):
            letters += [r.value for rs in (await consumer.getmany(timeout_ms=500)).values() for r in rs]
    finally:
        await consumer.stop()
    return letters


def _letter_line(raw: bytes | None) -> str:
    try:
        letter = CloudEvent.from_bytes(raw).payload()
    except MalformedEvent as exc:
        return f"(unreadable dead letter: {exc})"
    if not isinstance(letter, DeadLetter):
        return f"(not a dead letter: {type(letter).__name__})"
    return f"{letter.topic}[{letter.partition}]@{letter.offset} key={letter.key} consumer={letter.consumer}: {letter.error}"


if __name__ == "__main__":
    main()
