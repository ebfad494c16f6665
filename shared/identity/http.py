"""Identity on HTTP: every protected route depends on a verified bearer token, never on a body.

Missing or bad token: 401 with the reason. A role that may not use the route: 403. A resource outside
the caller's scope (another department's work order, someone else's case) is the route's own 404, so
ids cannot be probed. Refusals are logged with the route and the reason, never with personal data."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.identity.principal import ROLE_TEXT, STAFF, Principal, Role
from shared.identity.verifier import TokenVerifier, Unauthenticated
from shared.settings import ServiceSettings

log = logging.getLogger("lianban.access")
bearer = HTTPBearer(auto_error=False, description="An OpenID Connect access token (JWT) from the center's identity provider.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


class Access:
    """The service's gate: who the caller is (`principal`) and whether their role may pass (`allow`)."""

    def __init__(self, verifier: TokenVerifier, center: str) -> None:
        self.verifier, self.center = verifier, center

    async def principal(self, request: Request, credentials: Credentials) -> Principal:
        if credentials is None:
            raise self._refuse(request, 401, "缺少访问令牌 (Authorization: Bearer <token> is required)")
        try:
            principal = await self.verifier.verify(credentials.credentials)
        except Unauthenticated as exc:
            raise self._refuse(request, 401, str(exc)) from None
        if principal.role in STAFF and principal.center != self.center:
            raise self._refuse(
                request, 403, f"令牌属于其他中心，本中心为 {self.center} (the token is for another center)", principal
            )
        request.state.principal = principal
        return principal

    async def optional(self, request: Request, credentials: Credentials) -> Principal | None:
        """The caller if a token came (and it must then be valid), else None: for a route that also
        takes another proof, such as the applicant's query code."""
        return None if credentials is None else await self.principal(request, credentials)

    def allow(self, *roles: Role) -> Callable[..., Awaitable[Principal]]:
        """A dependency that lets only these roles through (403 for the others)."""
        names = "、".join(ROLE_TEXT[r] for r in roles)

        verified = Depends(self.principal)

        async def allowed(request: Request, principal: Principal = verified) -> Principal:
            if principal.role not in roles:
                raise self._refuse(request, 403, f"此操作仅限{names} (allowed to: {', '.join(roles)})", principal)
            return principal

        return allowed

    @staticmethod
    def _refuse(request: Request, status: int, reason: str, principal: Principal | None = None) -> HTTPException:
        log.warning("refused %s %s (%d) for %s: %s", request.method, request.url.path, status, principal or "anonymous", reason)
        headers = (
            {"WWW-Authenticate": 'Bearer error="invalid_token"' if principal is None else "Bearer"} if status == 401 else None
        )
        return HTTPException(status, reason, headers=headers)


def not_found(what: str) -> HTTPException:
    """The answer for what exists but is not the caller's, the same as for what does not exist."""
    return HTTPException(404, f"未找到 {what} (not found)")


def access_for(settings: ServiceSettings, verifier: TokenVerifier | None = None) -> Access:
    """The gate a service's composition root builds: its center's provider, unless a test gives a verifier."""
    if verifier is None:
        if not settings.auth.issuer:
            raise RuntimeError("LIANBAN_AUTH_ISSUER is not set: the service verifies every caller's token against it")
        verifier = TokenVerifier(settings.auth.issuer, settings.auth.audience)
    return Access(verifier, settings.center)
