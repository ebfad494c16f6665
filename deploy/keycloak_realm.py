"""A Keycloak realm set up for Lianban through Keycloak's admin REST API.

The realm issues the access tokens Lianban's services verify (RS256, checked against the realm's
JWKS): `aud` contains the client `lianban` (an audience mapper), `preferred_username` and `sub` name
the user, and the claims `lianban_role`, `lianban_center`, `lianban_department` and
`lianban_id_number` come from user attributes of the same names (one attribute mapper each). The
realm's user profile accepts these unmanaged attributes, which Keycloak 26 would otherwise drop.

Two public clients carry the same mappers: `lianban` (the password grant, for scripts and tests) and
`lianban-console`, the operators' console in the browser (authorization code flow with PKCE S256 only;
redirect URIs and CORS origins are the console's URLs, matched exactly).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

CLIENT_ID = "lianban"
CONSOLE_CLIENT_ID = "lianban-console"
# Where the console is served (supervision's origin + /console/): `make run`'s by default. Each URL is
# a redirect URI matched exactly and its origin a web origin, for the browser's token request (CORS).
# Give the port: Keycloak would accept any port for an http://127.0.0.1 or http://localhost redirect URI
# registered without one, but its CORS origins are exact. No `*` patterns: `http://127.0.0.1:*` hands
# codes to any path on any port of the machine, and passes malformed URIs (`http://127.0.0.1:1.x/`).
CONSOLE_URLS = ("http://127.0.0.1:8103/console/", "http://localhost:8103/console/")
AUDIENCE = "lianban"
CLAIMS = ("lianban_role", "lianban_center", "lianban_department", "lianban_id_number")
ROLES = ("window", "department", "supervisor", "admin", "operator", "applicant")
TIMEOUT = 30.0


def attribute_mapper(attribute: str) -> dict[str, Any]:
    """A user attribute copied into the access token as a string claim of the same name (only there)."""
    return {
        "name": attribute,
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-attribute-mapper",
        "config": {
            "user.attribute": attribute,
            "claim.name": attribute,
            "jsonType.label": "String",
            "multivalued": "false",
            "access.token.claim": "true",
            "id.token.claim": "false",
            "userinfo.token.claim": "false",
            "introspection.token.claim": "true",
        },
    }


def audience_mapper(audience: str) -> dict[str, Any]:
    return {
        "name": f"{audience}-audience",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {
            "included.custom.audience": audience,
            "access.token.claim": "true",
            "id.token.claim": "false",
            "introspection.token.claim": "true",
        },
    }


def token_mappers(audience: str) -> list[dict[str, Any]]:
    """What every Lianban client puts in its access tokens: `aud` and the lianban_* claims."""
    return [*(attribute_mapper(claim) for claim in CLAIMS), audience_mapper(audience)]


def console_client(client_id: str, audience: str, console_urls: Sequence[str]) -> dict[str, Any]:
    """The console: a public client of the browser, authorization code flow with PKCE (S256) only."""
    origins = sorted({f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in console_urls})
    return {
        "clientId": client_id,
        "name": "Lianban console",
        "protocol": "openid-connect",
        "enabled": True,
        "publicClient": True,
        "standardFlowEnabled": True,
        "directAccessGrantsEnabled": False,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": False,
        "consentRequired": False,
        "redirectUris": list(console_urls),
        "webOrigins": origins,
        "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
        "protocolMappers": token_mappers(audience),
    }


@dataclass
class KeycloakAdmin:
    """The admin REST API of one server, as an administrator of its master realm (password grant on
    `admin-cli`); the token, short-lived in the master realm, is renewed before it runs out."""

    base_url: str
    username: str
    password: str
    _token: str = field(default="", init=False, repr=False)
    _expires: float = field(default=0.0, init=False, repr=False)

    def token(self) -> str:
        if time.monotonic() > self._expires - 15:
            response = httpx.post(
                f"{self.base_url}/realms/master/protocol/openid-connect/token",
                data={"grant_type": "password", "client_id": "admin-cli", "username": self.username, "password": self.password},
                timeout=TIMEOUT,
            )
            _check(response, "admin token")
            body = response.json()
            self._token, self._expires = str(body["access_token"]), time.monotonic() + float(body["expires_in"])
        return self._token

    def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """`path` below `/admin/realms`; fails on any status but 2xx."""
        response = httpx.request(
            method,
            f"{self.base_url}/admin/realms{path}",
            json=json,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=TIMEOUT,
        )
        _check(response, f"{method} {path}")
        return response

    def set_own_password(self, password: str) -> None:
        """A new password for this administrator (not temporary); later tokens use it."""
        users = self.request("GET", f"/master/users?exact=true&username={self.username}").json()
        self.request(
            "PUT",
            f"/master/users/{users[0]['id']}/reset-password",
            json={"type": "password", "value": password, "temporary": False},
        )
        self.password = password

    def lianban_realm(
        self,
        name: str,
        *,
        client_id: str = CLIENT_ID,
        audience: str = AUDIENCE,
        access_token_lifespan: int = 600,
        console_client_id: str = CONSOLE_CLIENT_ID,
        console_urls: Sequence[str] = CONSOLE_URLS,
    ) -> Realm:
        """A new realm `name` with the public client `client_id` (password grant allowed) and the console's
        `console_client_id` (code flow with PKCE, back to `console_urls`), whose access tokens both carry
        `aud` = `audience` and the lianban_* claims from user attributes."""
        self.request(
            "POST",
            "",
            json={
                "realm": name,
                "enabled": True,
                "accessTokenLifespan": access_token_lifespan,
                "registrationAllowed": False,
                "verifyEmail": False,
            },
        )
        profile = self.request("GET", f"/{name}/users/profile").json()
        self.request("PUT", f"/{name}/users/profile", json={**profile, "unmanagedAttributePolicy": "ENABLED"})
        self.request(
            "POST",
            f"/{name}/clients",
            json={
                "clientId": client_id,
                "name": "Lianban",
                "protocol": "openid-connect",
                "enabled": True,
                "publicClient": True,
                "directAccessGrantsEnabled": True,
                "standardFlowEnabled": False,
                "implicitFlowEnabled": False,
                "serviceAccountsEnabled": False,
                "protocolMappers": token_mappers(audience),
            },
        )
        self.request("POST", f"/{name}/clients", json=console_client(console_client_id, audience, console_urls))
        return Realm(admin=self, name=name, client_id=client_id, console_client_id=console_client_id)


@dataclass
class Realm:
    """One realm of a Keycloak server, its users and the tokens they get."""

    admin: KeycloakAdmin
    name: str
    client_id: str = CLIENT_ID
    console_client_id: str = CONSOLE_CLIENT_ID

    @property
    def issuer(self) -> str:
        """The `iss` of its tokens; `<issuer>/.well-known/openid-configuration` names its `jwks_uri`."""
        return f"{self.admin.base_url}/realms/{self.name}"

    def create_user(self, username: str, password: str, attributes: Mapping[str, str]) -> str:
        """A user who can log in at once (password not temporary, profile complete, e-mail verified, so no
        required action stands in the way of the password grant); returns its id, the tokens' `sub`."""
        response = self.admin.request(
            "POST",
            f"/{self.name}/users",
            json={
                "username": username,
                "enabled": True,
                "emailVerified": True,
                "firstName": username,
                "lastName": "Lianban",
                "email": f"{username}@lianban.test",
                "attributes": {key: [value] for key, value in attributes.items()},
                "credentials": [{"type": "password", "value": password, "temporary": False}],
                "requiredActions": [],
            },
        )
        return response.headers["Location"].rsplit("/", 1)[-1]

    def token(self, username: str, password: str) -> str:
        return password_token(self.issuer, self.client_id, username, password)


def password_token(issuer: str, client_id: str, username: str, password: str) -> str:
    """An access token for a user of the realm at `issuer` (resource owner password grant)."""
    response = httpx.post(
        f"{issuer}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": client_id, "username": username, "password": password},
        timeout=TIMEOUT,
    )
    _check(response, f"token for {username}")
    return str(response.json()["access_token"])


def _check(response: httpx.Response, what: str) -> None:
    if not response.is_success:
        raise RuntimeError(f"Keycloak refused {what}: {response.status_code} {response.text[:500]}")
