"""A real Keycloak issues the access tokens Lianban reads: one user per role in a realm made through
the admin REST API, each token verified as the services verify it (RS256 against the realm's JWKS
found by discovery, audience `lianban`, the realm as issuer) and carrying the lianban_* claims; the
operators' console logs in as a browser does (authorization code flow with PKCE on Keycloak's own login
page, the code exchanged cross-origin) and gets tokens the services accept, its client allowing nothing
else; then a whole center runs with Keycloak as its identity provider (no development issuer, no code change) and
one case goes through it with Keycloak's tokens only."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from deploy.demo import restaurant_case, wait_for_reply
from deploy.kafka_local import KafkaAccess
from deploy.keycloak_local import DATABASE, LocalKeycloak
from deploy.keycloak_realm import CONSOLE_URLS
from deploy.launcher import System
from shared.identity import Principal, Role, TokenVerifier
from tests.e2e.api import APPLICANTS
from tests.e2e.keycloak import (
    LianbanRealm,
    Person,
    applicant,
    authorization_url,
    console_code,
    console_token,
    lianban_realm,
    loopback_browser,
    pkce,
    running_keycloak,
    staff,
)
from tests.e2e.systems import running

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # the first run on a machine also fetches and builds Keycloak

CENTER = f"kc{uuid.uuid4().hex[:6]}"  # a center of its own on the shared broker
APPLICANT = f"9133{uuid.uuid4().hex[:14].upper()}"
PEOPLE = (
    staff("kc-window", "window", center=CENTER, department="market"),
    staff("kc-tax", "department", center=CENTER, department="tax"),
    staff("kc-supervisor", "supervisor", center=CENTER),
    staff("kc-admin", "admin", center=CENTER),
    staff("kc-operator", "operator", center=CENTER),
    applicant("kc-applicant", APPLICANT),
)
CONSOLE = "http://127.0.0.1:18103/console/"  # where this module's console would be served (nothing listens)
CONSOLE_ORIGIN = "http://127.0.0.1:18103"
APPLICANTS.append(APPLICANT)  # scanned for in every log when the system stops


@pytest.fixture(scope="module")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeycloak]:
    yield from running_keycloak(tmp_path_factory.mktemp("keycloak"))


@pytest.fixture(scope="module")
def realm(keycloak: LocalKeycloak) -> LianbanRealm:
    realm = lianban_realm(keycloak, console_urls=[CONSOLE])
    for person in PEOPLE:
        realm.add(person)
    return realm


def signing_key(realm: LianbanRealm, token: str) -> Any:
    """As a service finds it: the realm's discovery document names its JWKS, the token's `kid` the key."""
    discovery = httpx.get(f"{realm.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == realm.issuer
    return jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token).key


def verify(realm: LianbanRealm, token: str, audience: str = "lianban", issuer: str | None = None) -> dict[str, Any]:
    """Signature (RS256 only), audience, issuer and expiry, as the services check them."""
    key = signing_key(realm, token)
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer or realm.issuer)
    return claims


@pytest.mark.parametrize("person", PEOPLE, ids=lambda p: p.role)
def test_each_role_gets_a_token_lianban_accepts(realm: LianbanRealm, person: Person) -> None:
    token = realm.token(person.username)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = verify(realm, token)
    assert claims["sub"] == realm.ids[person.username]
    assert claims["preferred_username"] == person.username
    assert "lianban" in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    assert {name: value for name, value in claims.items() if name.startswith("lianban_")} == person.attributes
    assert 590 <= claims["exp"] - claims["iat"] <= 600
    assert claims["exp"] > time.time()


def test_the_claims_are_as_each_role_needs_them(realm: LianbanRealm) -> None:
    claims = {p.username: verify(realm, realm.token(p.username)) for p in PEOPLE}
    assert (
        claims["kc-window"].items()
        >= {"lianban_role": "window", "lianban_center": CENTER, "lianban_department": "market"}.items()
    )
    assert claims["kc-tax"]["lianban_department"] == "tax"
    assert claims["kc-supervisor"]["lianban_role"] == "supervisor"
    assert "lianban_department" not in claims["kc-supervisor"]
    assert claims["kc-admin"]["lianban_role"] == "admin"
    assert claims["kc-operator"]["lianban_role"] == "operator"
    assert "lianban_department" not in claims["kc-operator"]
    assert claims["kc-applicant"]["lianban_id_number"] == APPLICANT
    assert "lianban_center" not in claims["kc-applicant"]


def test_a_token_of_another_audience_or_issuer_or_a_forged_one_is_refused(realm: LianbanRealm, keycloak: LocalKeycloak) -> None:
    token = realm.token("kc-window")
    with pytest.raises(jwt.InvalidAudienceError):
        verify(realm, token, audience="someone-else")
    with pytest.raises(jwt.InvalidIssuerError):
        verify(realm, token, issuer=f"{keycloak.base_url}/realms/other")
    other = lianban_realm(keycloak)
    other.add(staff("kc-window", "admin", center=CENTER))
    forged = other.token("kc-window")
    with pytest.raises(jwt.PyJWKClientError):  # signed by another realm's key: not in this realm's JWKS
        verify(realm, forged)
    header, _, signature = token.split(".")
    with pytest.raises(jwt.InvalidSignatureError):  # this realm's key id, another payload (role admin)
        verify(realm, f"{header}.{forged.split('.')[1]}.{signature}")


def as_the_services_verify(realm: LianbanRealm, token: str) -> Principal:
    """The principal the services read from a token: shared.identity's verifier, keys by discovery."""
    return asyncio.run(TokenVerifier(realm.issuer, "lianban").verify(token))


@pytest.mark.parametrize("username", ["kc-supervisor", "kc-operator", "kc-tax"])
def test_the_console_logs_in_with_the_code_flow_and_pkce_and_gets_a_token_lianban_accepts(
    realm: LianbanRealm, username: str
) -> None:
    verifier, challenge = pkce()
    back = console_code(realm, username, CONSOLE, challenge)
    assert back["iss"] == realm.issuer
    answer = console_token(realm, back["code"], verifier, CONSOLE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == CONSOLE_ORIGIN  # the browser may read it
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert 590 <= body["expires_in"] <= 600
    person = realm.people[username]
    principal = as_the_services_verify(realm, body["access_token"])
    assert (principal.subject, principal.role, principal.center, principal.department) == (
        username,
        Role(person.role),
        CENTER,
        person.department,
    )
    claims = verify(realm, body["access_token"])
    assert claims["azp"] == "lianban-console"
    assert claims["sub"] == realm.ids[username]
    assert {name: value for name, value in claims.items() if name.startswith("lianban_")} == person.attributes


def test_the_console_client_allows_the_code_flow_with_pkce_only(realm: LianbanRealm) -> None:
    with loopback_browser() as browser:
        without_pkce = browser.get(authorization_url(realm, CONSOLE, None, "s1"))
        assert without_pkce.status_code == 302
        assert without_pkce.headers["location"].startswith(f"{CONSOLE}?error=invalid_request")
        for elsewhere in ("http://127.0.0.1:18104/console/", "http://127.0.0.1:18103/other/", "http://evil.test/console/"):
            refused = browser.get(authorization_url(realm, elsewhere, pkce()[1], "s2"))
            assert refused.status_code == 400, elsewhere  # an error page: no code leaves for an address not registered
            assert "location" not in refused.headers

    verifier, challenge = pkce()
    back = console_code(realm, "kc-supervisor", CONSOLE, challenge)
    wrong = console_token(realm, back["code"], pkce()[0], CONSOLE)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")  # PKCE verification failed

    verifier, challenge = pkce()
    back = console_code(realm, "kc-supervisor", CONSOLE, challenge)
    assert console_token(realm, back["code"], verifier, CONSOLE).status_code == 200
    again = console_token(realm, back["code"], verifier, CONSOLE)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")  # a code is used once

    verifier, challenge = pkce()
    back = console_code(realm, "kc-supervisor", CONSOLE, challenge)
    foreign = console_token(realm, back["code"], verifier, CONSOLE, origin="http://evil.test")
    assert "access-control-allow-origin" not in foreign.headers  # another page's script cannot read the answer

    person = realm.people["kc-supervisor"]
    password = httpx.post(
        f"{realm.issuer}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "lianban-console", "username": person.username, "password": person.password},
        timeout=10,
    )
    assert password.status_code in (400, 401)
    assert password.json()["error"] == "unauthorized_client"  # no direct grants for the console


def test_by_default_the_console_is_the_one_make_run_serves(keycloak: LocalKeycloak) -> None:
    realm = lianban_realm(keycloak)
    realm.add(staff("kc-default", "operator", center=CENTER))
    for console in CONSOLE_URLS:
        verifier, challenge = pkce()
        back = console_code(realm, "kc-default", console, challenge)
        answer = console_token(realm, back["code"], verifier, console)
        assert answer.status_code == 200, answer.text
        assert answer.headers["access-control-allow-origin"] == console.removesuffix("/console/")
        assert as_the_services_verify(realm, answer.json()["access_token"]).role is Role.OPERATOR


def test_the_server_keeps_its_data_in_its_own_work_directory(keycloak: LocalKeycloak) -> None:
    assert keycloak.workdir is not None
    assert (keycloak.workdir / DATABASE).exists()
    assert (keycloak.workdir / "transaction-logs").is_dir()


@pytest.fixture(scope="module")
def keycloak_center(kafka: KafkaAccess, realm: LianbanRealm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A center whose services verify tokens against the Keycloak realm, exactly as configured for any provider."""
    yield from running(kafka, CENTER, tmp_path_factory.mktemp("keycloak-center"), None, identity_provider=realm.issuer)


def seen_within(url: str, headers: dict[str, str], seconds: float) -> bool:
    """Whether GET `url` answers 200 within `seconds` (anything else, asked again)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if httpx.get(url, headers=headers, timeout=10).status_code == 200:
            return True
        time.sleep(0.2)
    return False


def test_one_case_goes_through_a_center_with_keycloak_tokens_only(keycloak_center: System, realm: LianbanRealm) -> None:
    def bearer(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {realm.token(username)}"}

    intake, gateway = keycloak_center.url("intake"), keycloak_center.url("gateway")
    supervision = keycloak_center.url("supervision")
    filed = httpx.post(f"{intake}/api/v1/cases", json=restaurant_case(APPLICANT), headers=bearer("kc-window"), timeout=10)
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case"]["case_id"]
    assert filed.json()["case"]["staff_id"] == "kc-window"  # the token's preferred_username, recorded as who filed

    mine = wait_for_reply(gateway, case_id, bearer("kc-applicant"))  # the applicant, with their own Keycloak token
    assert mine["reply"]["outcome"] == "approved"  # market, fire and tax answered through their systems

    # supervision reads the events gathered up to a second at a time: it may know the case a moment after the reply
    assert seen_within(f"{supervision}/api/v1/supervision/cases/{case_id}", bearer("kc-supervisor"), seconds=30)
    assert httpx.get(f"{intake}/api/v1/departments/tax/work", headers=bearer("kc-tax"), timeout=10).status_code == 200
    refused = httpx.post(f"{intake}/api/v1/cases", json=restaurant_case(APPLICANT), headers=bearer("kc-tax"), timeout=10)
    assert refused.status_code == 403  # department staff do not file
    assert httpx.get(f"{intake}/api/v1/cases/{case_id}", timeout=10).status_code == 401
