"""A real Keycloak for end-to-end tests: the server as a local process, and a realm whose users are
Lianban's staff and applicants, each with access tokens Keycloak issued.

In a test module (or a conftest), a module-scoped server and realm::

    from tests.e2e.keycloak import lianban_realm, running_keycloak

    @pytest.fixture(scope="module")
    def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeycloak]:
        yield from running_keycloak(tmp_path_factory.mktemp("keycloak"))

    realm = lianban_realm(keycloak)                       # a new realm, its client `lianban`
    realm.add(staff("kc-window", "window", center="kc", department="market"))
    token = realm.token("kc-window")                      # an access token, RS256, aud lianban

If Keycloak cannot start, `running_keycloak` raises, so a fixture built on it fails: these tests never
skip. The first start on a machine also resolves and builds the server (`python -m deploy.keycloak_local
fetch` does it beforehand).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from deploy.keycloak_local import LocalKeycloak
from deploy.keycloak_realm import Realm


@dataclass(frozen=True)
class Person:
    """A Keycloak user as Lianban reads it: `username` becomes `preferred_username` (the staff id), the
    attributes the lianban_* claims."""

    username: str
    role: str
    center: str | None = None
    department: str | None = None
    id_number: str | None = None
    password: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def attributes(self) -> dict[str, str]:
        claims = {
            "lianban_role": self.role,
            "lianban_center": self.center,
            "lianban_department": self.department,
            "lianban_id_number": self.id_number,
        }
        return {name: value for name, value in claims.items() if value is not None}


def staff(username: str, role: str, *, center: str, department: str | None = None) -> Person:
    """Window, department, supervisor or admin staff of a center (`department` for window and department)."""
    return Person(username=username, role=role, center=center, department=department)


def applicant(username: str, id_number: str) -> Person:
    return Person(username=username, role="applicant", id_number=id_number)


@dataclass
class LianbanRealm:
    """A realm made for one test module, and the people in it."""

    realm: Realm
    people: dict[str, Person] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # username -> Keycloak user id (the token's `sub`)

    @property
    def issuer(self) -> str:
        return self.realm.issuer

    def add(self, person: Person) -> Person:
        self.ids[person.username] = self.realm.create_user(person.username, person.password, person.attributes)
        self.people[person.username] = person
        return person

    def token(self, username: str) -> str:
        """A new access token for a person added before."""
        return self.realm.token(username, self.people[username].password)


def running_keycloak(workdir: Path) -> Iterator[LocalKeycloak]:
    """A Keycloak server with its data in `workdir`, stopped (by its pid) when the generator ends."""
    server = LocalKeycloak(workdir=workdir)
    try:
        yield server.start()
    finally:
        server.stop()


def lianban_realm(server: LocalKeycloak, name: str | None = None, *, access_token_lifespan: int = 600) -> LianbanRealm:
    """A new realm (a random name unless given) with the client `lianban` and its claim mappers."""
    realm = server.admin.lianban_realm(name or f"lianban-{uuid.uuid4().hex[:8]}", access_token_lifespan=access_token_lifespan)
    return LianbanRealm(realm)
