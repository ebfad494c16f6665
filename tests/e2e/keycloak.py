"""A real Keycloak for end-to-end tests: the server as a local process, and a realm whose users are
Lianban's staff and applicants, each with access tokens Keycloak issued.

In a test module (or a conftest), a module-scoped server and realm::

    from tests.e2e.keycloak import lianban_realm, running_keycloak

    @pytest.fixture(scope="module")
    def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeycloak]:
        yield from running_keycloak(tmp_path_factory.mktemp("keycloak"))

    realm = lianban_realm(keycloak)                       # a new realm, its clients `lianban` and `lianban-console`
    realm.add(staff("kc-window", "window", center="kc", department="market"))
    token = realm.token("kc-window")                      # an access token, RS256, aud lianban

    verifier, challenge = pkce()                          # as the console logs in, in the browser:
    back = console_code(realm, "kc-window", CONSOLE_URLS[0], challenge)
    answer = console_token(realm, back["code"], verifier, CONSOLE_URLS[0])

If Keycloak cannot start, `running_keycloak` raises, so a fixture built on it fails: these tests never
skip. The first start on a machine also resolves and builds the server (`python -m deploy.keycloak_local
fetch` does it beforehand).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from deploy.keycloak_local import LocalKeycloak
from deploy.keycloak_realm import CONSOLE_URLS, Realm

TIMEOUT = 30.0


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
    """Window, department, supervisor, operator or admin staff of a center (`department` for window and department)."""
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


def lianban_realm(
    server: LocalKeycloak,
    name: str | None = None,
    *,
    access_token_lifespan: int = 600,
    console_urls: Sequence[str] = CONSOLE_URLS,
) -> LianbanRealm:
    """A new realm (a random name unless given) with the clients `lianban` and `lianban-console` (served at
    `console_urls`) and their claim mappers."""
    realm = server.admin.lianban_realm(
        name or f"lianban-{uuid.uuid4().hex[:8]}", access_token_lifespan=access_token_lifespan, console_urls=console_urls
    )
    return LianbanRealm(realm)


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 code challenge, as the console makes them."""
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorization_url(realm: LianbanRealm, console_url: str, code_challenge: str | None, state: str) -> str:
    """Where the console sends the browser (`code_challenge` None: a request without PKCE)."""
    query = {
        "response_type": "code",
        "client_id": realm.realm.console_client_id,
        "redirect_uri": console_url,
        "scope": "openid",
        "state": state,
    }
    if code_challenge is not None:
        query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
    return str(httpx.URL(f"{realm.issuer}/protocol/openid-connect/auth", params=query))


def console_code(realm: LianbanRealm, username: str, console_url: str, code_challenge: str) -> dict[str, str]:
    """A person added before logs in on Keycloak's own login page, as in the console's browser; returns the
    query the browser is sent back to `console_url` with (`code`, `state`, `iss`)."""
    state = secrets.token_urlsafe(16)
    with loopback_browser() as browser:
        page = browser.get(authorization_url(realm, console_url, code_challenge, state))
        assert page.status_code == 200, page.text[:500]
        form = LoginForm.of(page.text)
        sent = browser.post(
            form.action, data={"username": username, "password": realm.people[username].password, "credentialId": ""}
        )
    assert sent.status_code == 302, sent.text[:500]
    location = sent.headers["location"]
    assert location.startswith(f"{console_url}?"), location
    back = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    assert back["state"] == state
    return back


def console_token(realm: LianbanRealm, code: str, verifier: str, console_url: str, origin: str | None = None) -> httpx.Response:
    """The console's request for its token, from the browser: form-encoded, with the page's `Origin`
    (by default the console's own)."""
    parts = urlsplit(console_url)
    return httpx.post(
        f"{realm.issuer}/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": console_url,
            "client_id": realm.realm.console_client_id,
            "code_verifier": verifier,
        },
        headers={"Origin": origin or f"{parts.scheme}://{parts.netloc}"},
        timeout=TIMEOUT,
    )


def loopback_browser() -> httpx.Client:
    """A client keeping cookies as a browser does on a loopback origin. Keycloak marks its login cookies
    `Secure` even over http, and a browser still sends them to 127.0.0.1 (a secure context); httpx keeps
    them for https only, so they are kept here as plain cookies."""

    def keep_secure_cookies(response: httpx.Response) -> None:
        for cookie in client.cookies.jar:
            cookie.secure = False

    client = httpx.Client(timeout=TIMEOUT, event_hooks={"response": [keep_secure_cookies]})
    return client


class LoginForm(HTMLParser):
    """Keycloak's login form (`#kc-form-login`): where the browser posts the user name and password."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""

    @classmethod
    def of(cls, page: str) -> LoginForm:
        form = cls()
        form.feed(page)
        assert form.action, "no login form (#kc-form-login) on the page"
        return form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == "kc-form-login":
            self.action = attributes.get("action") or ""
