"""The development issuer logs a browser in as the console does it: the authorization code flow with
PKCE (S256), its login page filled in as a person would, the code exchanged once at /token for an
access token the services' verifier accepts with the chosen role, center and department; every
malformed or replayed request refused, naming what is wrong."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from deploy.dev_issuer import DevIssuer
from deploy.dev_issuer_login import CODE_TTL
from shared.identity import Principal, TokenVerifier, Unauthenticated

ISSUER = DevIssuer.in_memory("http://issuer.test")
CLIENT = "lianban-console"
CONSOLE = "http://127.0.0.1:8103/console/"
ORIGIN = "http://127.0.0.1:8103"


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge, as the console makes them."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization(challenge: str, **changes: str | None) -> dict[str, str]:
    """The query of the console's authorization request; a change to None leaves that field out."""
    query = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": CONSOLE,
        "scope": "openid",
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    } | changes
    return {name: value for name, value in query.items() if value is not None}


class Form(HTMLParser):
    """The login page's form as a browser reads it: its action, inputs (value as shown), selects."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.inputs: dict[str, dict[str, str]] = {}
        self.options: dict[str, list[str]] = {}
        self.selected: dict[str, str] = {}
        self.texts: list[str] = []
        self._select = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = attributes["action"]
        elif tag == "input":
            self.inputs[attributes["name"]] = attributes
        elif tag == "select":
            self._select = attributes["name"]
            self.options[self._select] = []
        elif tag == "option":
            self.options[self._select].append(attributes["value"])
            if "selected" in attributes:
                self.selected[self._select] = attributes["value"]
        elif tag == "button":
            self.texts.append(f"button:{attributes.get('type')}")

    def handle_data(self, data: str) -> None:
        self.texts.append(data.strip())

    def hidden(self) -> dict[str, str]:
        return {name: a["value"] for name, a in self.inputs.items() if a.get("type") == "hidden"}


def read_form(page: str) -> Form:
    form = Form()
    form.feed(page)
    return form


@pytest.fixture
def app() -> FastAPI:
    return ISSUER.app(center="demo")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER.url) as client:
        yield client


async def log_in(
    client: httpx.AsyncClient, challenge: str, *, username: str = "SV-01", role: str = "supervisor", **fields: str
) -> tuple[str, dict[str, str]]:
    """The page shown, filled in and sent; returns the code and the query it came back with."""
    query = authorization(challenge)
    page = await client.get("/authorize", params=query)
    assert page.status_code == 200, page.text
    form = read_form(page.text)
    data = form.hidden() | {"username": username, "role": role, "department": "", "center": form.inputs["center"]["value"]}
    sent = await client.post(f"/{form.action}", data=data | fields)
    assert sent.status_code == 303, sent.text
    location = urlsplit(sent.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CONSOLE
    back = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert back["state"] == query["state"]
    return back["code"], back


async def exchange(client: httpx.AsyncClient, code: str, verifier: str, /, **changes: str | None) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CONSOLE,
        "client_id": CLIENT,
        "code_verifier": verifier,
    } | changes
    return await client.post("/token", data={k: v for k, v in data.items() if v is not None}, headers={"Origin": ORIGIN})


async def verified(token: str) -> Principal:
    return await TokenVerifier(ISSUER.url, "lianban", ISSUER.keys()).verify(token)


async def test_discovery_names_the_login_endpoints(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/.well-known/openid-configuration")).json()
    assert meta["issuer"] == ISSUER.url
    assert meta["authorization_endpoint"] == f"{ISSUER.url}/authorize"
    assert meta["token_endpoint"] == f"{ISSUER.url}/token"
    assert meta["response_types_supported"] == ["code"]
    assert meta["grant_types_supported"] == ["authorization_code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["scopes_supported"] == ["openid"]
    assert meta["token_endpoint_auth_methods_supported"] == ["none"]
    assert meta["jwks_uri"] == f"{ISSUER.url}/jwks.json"


async def test_the_login_page_is_chinese_says_it_is_for_development_and_carries_the_request(client: httpx.AsyncClient) -> None:
    _, challenge = pkce()
    query = authorization(challenge, state='"><script>alert(1)</script>')
    page = await client.get("/authorize", params=query)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "开发用身份提供方，勿用于生产" in page.text
    assert "<script>" not in page.text  # the state is escaped, and comes back whole (below)
    form = read_form(page.text)
    assert form.action == "authorize"
    assert {"username", "department", "center"} <= form.inputs.keys()
    assert form.inputs["center"]["value"] == "demo"
    assert form.options["role"] == ["supervisor", "operator", "admin", "window", "department"]
    assert form.selected["role"] == "supervisor"
    assert {"用户名", "部门代码（可选，部门人员必填）", "中心", "登录", "button:submit"} <= set(form.texts)
    assert form.hidden() == {name: query[name] for name in query if name != "scope"}


async def test_the_center_offered_is_the_issuers_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANBAN_CENTER", "hz01")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ISSUER.app()), base_url=ISSUER.url) as client:
        page = await client.get("/authorize", params=authorization(pkce()[1]))
    assert read_form(page.text).inputs["center"]["value"] == "hz01"
    monkeypatch.delenv("LIANBAN_CENTER")
    assert ISSUER.app().state.login.center == "demo"


@pytest.mark.parametrize(
    ("role", "fields"),
    [
        ("supervisor", {}),
        ("operator", {}),
        ("admin", {"center": "hz01"}),
        ("window", {"department": "market"}),
        ("department", {"department": "tax"}),
    ],
)
async def test_the_whole_flow_yields_a_token_the_services_accept(
    client: httpx.AsyncClient, role: str, fields: dict[str, str]
) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge, username=f"{role}-07", role=role, **fields)
    answer = await exchange(client, code, verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body.keys() == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "openid")
    principal = await verified(body["access_token"])
    assert principal.subject == f"{role}-07"
    assert principal.role.value == role
    assert principal.center == fields.get("center", "demo")
    assert principal.department == fields.get("department")


async def test_the_redirect_uris_own_query_is_kept(client: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    query = authorization(challenge, redirect_uri=f"{CONSOLE}?tab=alerts")
    form = read_form((await client.get("/authorize", params=query)).text)
    sent = await client.post("/authorize", data=form.hidden() | {"username": "OP-1", "role": "operator", "center": "demo"})
    location = urlsplit(sent.headers["location"])
    back = parse_qs(location.query)
    assert back["tab"] == ["alerts"]
    answer = await exchange(client, back["code"][0], verifier, redirect_uri=f"{CONSOLE}?tab=alerts")
    assert answer.status_code == 200, answer.text


def grant_error(answer: httpx.Response, error: str = "invalid_grant") -> str:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    assert body.keys() == {"error", "error_description"}
    assert body["error"] == error
    return str(body["error_description"])


async def test_a_wrong_verifier_is_refused_and_spends_the_code(client: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    assert "code_verifier" in grant_error(await exchange(client, code, pkce()[0]))
    assert "already used" in grant_error(await exchange(client, code, verifier))  # tried once: gone


async def test_a_code_is_exchanged_once_only(client: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    assert (await exchange(client, code, verifier)).status_code == 200
    assert "already used" in grant_error(await exchange(client, code, verifier))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"redirect_uri": "http://127.0.0.1:8104/console/"}, "redirect_uri"),
        ({"client_id": "another-client"}, "client_id"),
        ({"code": "not-a-code-this-issuer-gave"}, "unknown"),
        ({"code_verifier": "short"}, "code_verifier"),
    ],
    ids=["another redirect_uri", "another client", "a code never given", "a malformed verifier"],
)
async def test_a_code_is_exchanged_only_as_it_was_given(client: httpx.AsyncClient, change: dict[str, str], named: str) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    assert named in grant_error(await exchange(client, code, verifier, **change))


async def test_a_code_expires_after_a_minute(client: httpx.AsyncClient, app: FastAPI) -> None:
    now = [1000.0]
    app.state.login.clock = lambda: now[0]
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    now[0] += CODE_TTL + 1
    assert "expired" in grant_error(await exchange(client, code, verifier))
    assert app.state.login.codes == {}


@pytest.mark.parametrize("missing", ["code", "redirect_uri", "client_id", "code_verifier"])
async def test_a_token_request_without_a_field_names_it(client: httpx.AsyncClient, missing: str) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    assert missing in grant_error(await exchange(client, code, verifier, **{missing: None}), "invalid_request")


async def test_only_the_authorization_code_grant_and_form_bodies_are_taken(client: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    assert "grant_type" in grant_error(await exchange(client, code, verifier, grant_type="password"), "unsupported_grant_type")
    as_json = await client.post("/token", json={"grant_type": "authorization_code", "code": code})
    assert "form" in grant_error(as_json, "invalid_request")
    twice = await client.post("/token", content=f"grant_type=authorization_code&code={code}&code=x", headers=FORM)
    assert "code" in grant_error(twice, "invalid_request")


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        *[({field: None}, field) for field in ("response_type", "client_id", "redirect_uri", "code_challenge", "state")],
        ({"code_challenge_method": None}, "code_challenge_method"),
        ({"response_type": "token"}, "response_type"),
        ({"code_challenge_method": "plain"}, "code_challenge_method"),
        ({"code_challenge": "too-short"}, "code_challenge"),
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"redirect_uri": "ftp://127.0.0.1/console/"}, "redirect_uri"),
        ({"redirect_uri": "/console/"}, "redirect_uri"),
        ({"redirect_uri": "http://127.0.0.1:8103/console/#x"}, "redirect_uri"),
        ({"redirect_uri": "http://127.0.0.1:99999/console/"}, "redirect_uri"),
        ({"client_id": "bad client"}, "client_id"),
    ],
    ids=lambda v: str(v).replace(" ", "") if isinstance(v, dict) else v,
)
async def test_a_malformed_authorization_request_is_a_400_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, str | None], named: str
) -> None:
    query = authorization(pkce()[1], **change)
    for answer in (
        await client.get("/authorize", params=query),
        await client.post("/authorize", data=query | {"username": "SV-01", "role": "supervisor", "center": "demo"}),
    ):
        assert answer.status_code == 400
        assert "location" not in answer.headers  # never sent back to an address not checked
        error = answer.text.split('<p id="error" class="error" role="alert">')[1].split("</p>")[0]
        assert named in error
        assert any("\u4e00" <= c <= "\u9fff" for c in error)  # in Chinese, and in English


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"username": ""}, "username"),
        ({"username": "x" * 65}, "username"),
        ({"role": "applicant"}, "role"),
        ({"role": "superuser"}, "role"),
        ({"center": ""}, "center"),
        ({"center": "杭州"}, "center"),
        ({"role": "department", "department": ""}, "department"),
        ({"department": "tax office"}, "department"),
    ],
)
async def test_a_login_lianban_would_not_accept_shows_the_page_again_with_the_reason(
    client: httpx.AsyncClient, app: FastAPI, fields: dict[str, str], named: str
) -> None:
    query = authorization(pkce()[1])
    form = read_form((await client.get("/authorize", params=query)).text)
    data = form.hidden() | {"username": "SV-01", "role": "supervisor", "center": "demo", "department": ""} | fields
    answer = await client.post("/authorize", data=data)
    assert answer.status_code == 400
    assert named in answer.text.split('role="alert">')[1].split("</p>")[0]
    again = read_form(answer.text)
    assert again.hidden() == form.hidden()  # the request goes on once corrected
    assert again.inputs["username"]["value"] == data["username"]
    assert app.state.login.codes == {}


async def test_cors_lets_the_console_exchange_codes_and_read_the_keys_from_another_origin(client: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    answer = await exchange(client, code, verifier)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    refused = await exchange(client, code, verifier)
    assert refused.headers["access-control-allow-origin"] == "*"  # the console can read why
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        assert (await client.get(path, headers={"Origin": ORIGIN})).headers["access-control-allow-origin"] == "*"
    preflight = await client.options(
        "/token",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_a_token_from_the_login_is_this_issuers_only(client: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    code, _ = await log_in(client, challenge)
    token = (await exchange(client, code, verifier)).json()["access_token"]
    other = DevIssuer.in_memory(ISSUER.url)
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        await TokenVerifier(other.url, "lianban", other.keys()).verify(token)
    with pytest.raises(Unauthenticated, match="wrong audience"):
        await TokenVerifier(ISSUER.url, "another", ISSUER.keys()).verify(token)


async def test_a_token_verified_once_is_still_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified tokens are remembered (a client sends the same one with every request), never past their expiry."""
    checks = TokenVerifier(ISSUER.url, "lianban", ISSUER.keys(), leeway=0)
    token = ISSUER.mint("window", "W-0101", center="test", ttl=60)
    assert (await checks.verify(token)).subject == "W-0101"
    assert (await checks.verify(token)).subject == "W-0101"  # remembered
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated, match="expired"):
        await checks.verify(token)
