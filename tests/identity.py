"""Tokens for tests that call the services in process: an issuer of their own, minted per role."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

import httpx

from deploy.dev_issuer import DevIssuer
from shared.identity import Access, Role, TokenVerifier

ISSUER = DevIssuer.in_memory()
CENTER = "test"  # the center of the in-process tests' topics
DEPARTMENT_PATH = re.compile(r"^/api/v1/departments/([^/]+)/")


def verifier() -> TokenVerifier:
    return TokenVerifier(ISSUER.url, "lianban", ISSUER.keys())


def access(center: str = CENTER) -> Access:
    return Access(verifier(), center)


def token(
    role: Role, subject: str | None = None, *, center: str | None = CENTER, issuer: DevIssuer = ISSUER, **claims: Any
) -> str:
    return issuer.mint(role, subject or f"{role}-01", center=center if role is not Role.APPLICANT else None, **claims)


def bearer(role: Role, subject: str | None = None, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, subject, **claims)}"}


class AsStaff(httpx.Auth):
    """Each request with the token of the staff who would send it: a department's staff on its work
    queue, the department `acknowledging` on an acknowledgement, an administrator on the clock, a
    supervisor on the evidence export, window staff elsewhere. A request that already carries an Authorization header keeps it."""

    def __init__(self, issuer: DevIssuer = ISSUER, center: str = CENTER, acknowledging: str = "fire") -> None:
        self.issuer, self.center, self.acknowledging = issuer, center, acknowledging

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "Authorization" not in request.headers:
            request.headers.update(self.headers_for(request.method, request.url.path))
        yield request

    def headers_for(self, method: str, path: str) -> dict[str, str]:
        if match := DEPARTMENT_PATH.match(path):
            return self.bearer(Role.DEPARTMENT, f"{match.group(1)}-01", department=match.group(1))
        if path.endswith("/acknowledgement"):
            return self.bearer(Role.DEPARTMENT, f"{self.acknowledging}-01", department=self.acknowledging)
        if path == "/api/v1/supervision/clock" and method == "POST":
            return self.bearer(Role.ADMIN)
        if path.endswith("/evidence"):
            return self.bearer(Role.SUPERVISOR, "SV-01")
        return self.bearer(Role.WINDOW, "S-0107")

    def bearer(self, role: Role, subject: str | None = None, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, subject, center=self.center, issuer=self.issuer, **claims)}"}
