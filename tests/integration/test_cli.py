"""The operators' command line: help, and migrating every service's database from the environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from deploy.cli import db_revision
from deploy.postgres_local import create_database
from services.gateway.adapters.orm import SCHEMA as GATEWAY
from shared.migrations import Schema


def lianban(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_the_installed_command_shows_its_help() -> None:
    installed = Path(sys.executable).parent / "lianban"  # what `make install` puts on the path
    done = subprocess.run([str(installed), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert all(word in done.stdout for word in ("db", "case", "dead-letters"))


async def test_db_upgrade_migrates_every_service_and_its_adapters(database_url: str, tmp_path: Path) -> None:
    services = ("INTAKE", "GATEWAY", "SUPERVISION", "ADAPTER")
    if database_url.startswith("sqlite"):
        urls = {s: f"sqlite+aiosqlite:///{tmp_path / s.lower()}.db" for s in services}
    else:  # a database of its own for each service, on the same server
        urls = {s: await create_database(database_url, f"{s.lower()}_{uuid.uuid4().hex[:8]}") for s in services}
    done = lianban("db", "upgrade", "--department", "tax", env={f"LIANBAN_{s}_DATABASE_URL": url for s, url in urls.items()})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "intake: at revision 0004",
        "gateway: at revision 0004",
        "supervision: at revision 0008",
        "adapter-tax: at revision 0004",
    ]


def test_db_check_finds_the_models_and_migrations_agree() -> None:
    done = lianban("db", "check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("models and migrations agree") == 4


def test_the_alembic_command_line_migrates_a_service_from_its_own_settings(database_url: str) -> None:
    alembic = Path(sys.executable).parent / "alembic"
    env = {**os.environ, "LIANBAN_GATEWAY_DATABASE_URL": database_url}
    upgraded = subprocess.run(
        [str(alembic), "-n", "gateway", "upgrade", "head"], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    assert upgraded.returncode == 0, upgraded.stderr
    current = subprocess.run(
        [str(alembic), "-n", "gateway", "current"], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    assert current.stdout.strip() == f"{head_of(GATEWAY)} (head)"


def head_of(schema: Schema) -> str:
    """The newest revision among the schema's migrations (they are numbered 0001, 0002...)."""
    return max(p.name[:4] for p in (schema.migrations / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


async def test_a_new_revision_is_written_from_the_models(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(GATEWAY.migrations, migrations)
    await db_revision(Schema(GATEWAY.name, GATEWAY.metadata, migrations), "nothing changed yet")
    head = head_of(GATEWAY)
    [written] = (migrations / "versions").glob(f"{int(head) + 1:04d}_nothing_changed_yet.py")
    text = written.read_text()
    assert f"down_revision: str | Sequence[str] | None = '{head}'" in text
    upgrade = text.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert [line.strip() for line in upgrade.splitlines() if line.strip() and not line.strip().startswith("#")] == ["pass"]


def test_a_new_key_signs_what_its_printed_entry_verifies(tmp_path: Path) -> None:
    """What a center sends its peers (docs/exchange.md, section 6): the entry verifies what the key signs."""
    import json

    from shared.signing import KeyRegistry, Signer

    done = lianban("key", "new", "xihu", "--dir", str(tmp_path / "keys"))
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout.splitlines()[-1])
    (tmp_path / "center-keys.json").write_text(json.dumps(entry))
    signed = Signer.load(tmp_path / "keys" / "xihu.pem", "xihu-1").sign(b'{"id": "1", "data": {}}')
    registry = KeyRegistry.load(tmp_path / "center-keys.json")
    assert registry.refusal(signed, "xihu") is None
    assert registry.refusal(signed, "gongshu") is not None
    assert oct((tmp_path / "keys" / "xihu.pem").stat().st_mode & 0o777) == "0o600"
