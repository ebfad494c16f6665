"""Verifying bearer tokens against the identity provider's published keys (OpenID Connect discovery
and JWKS), with PyJWT: Keycloak, the embedded development issuer, or any provider a center runs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt

from shared.identity.principal import InvalidClaims, Principal

log = logging.getLogger(__name__)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]  # asymmetric only: no shared secrets
KeySetSource = Callable[[], Awaitable[dict[str, Any]]]
VERIFIED_KEPT = 10_000  # tokens remembered as verified (a center's staff and systems, with room to spare)


class Unauthenticated(Exception):
    """No token, or one that does not prove who the caller is; the reason is safe to show the caller."""


def discovered_keys(issuer: str, *, timeout: float = 5.0) -> KeySetSource:
    """The issuer's key set, found through its discovery document as any OIDC client does."""

    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=timeout) as client:
            meta = (await client.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")).raise_for_status().json()
            keys: dict[str, Any] = (await client.get(meta["jwks_uri"])).raise_for_status().json()
            return keys

    return fetch


class TokenVerifier:
    """Checks signature, issuer, audience and lifetime, then reads the principal from the claims.
    Keys are fetched once and again only for a key id not seen yet (the provider rotated its keys),
    at most every `refresh_seconds`, so a flood of forged key ids cannot flood the provider."""

    def __init__(
        self, issuer: str, audience: str, keys: KeySetSource | None = None, *, leeway: float = 30.0, refresh_seconds: float = 30.0
    ) -> None:
        self.issuer, self.audience, self.leeway = issuer, audience, leeway
        self.source = keys or discovered_keys(issuer)
        self.refresh_seconds = refresh_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> its principal and expiry

    async def verify(self, token: str) -> Principal:
        """The token's principal. A token already verified is not verified again until it expires: a
        window or a department system sends the same token with every request for its whole life."""
        if (known := self._verified.get(token)) is not None:
            principal, expires = known
            if time.time() <= expires + self.leeway:
                return principal
            del self._verified[token]
            raise Unauthenticated("令牌已过期 (the token has expired)")
        principal, expires = await self._verify(token)
        if len(self._verified) >= VERIFIED_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest first
        self._verified[token] = (principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("令牌格式错误 (the token is not a JWT)") from None
        key = await self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("令牌已过期 (the token has expired)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(f"令牌不是签发给 {self.audience} 的 (wrong audience)") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("令牌的签发者不受信任 (untrusted issuer)") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("令牌签名无效 (bad signature)") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"令牌无效 (invalid token: {type(exc).__name__})") from None
        try:
            return Principal.of(claims), float(claims["exp"])
        except InvalidClaims as exc:
            raise Unauthenticated(str(exc)) from None

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            await self._refresh()
        if kid not in self._keys:
            raise Unauthenticated("令牌的签名密钥未知 (unknown signing key)")
        return self._keys[kid]

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.refresh_seconds:
                return
            self._fetched_at = time.monotonic()
            try:
                keys = jwt.PyJWKSet.from_dict(await self.source()).keys
            except (httpx.HTTPError, KeyError, ValueError, jwt.PyJWTError) as exc:
                log.error("could not fetch the identity provider's keys from %s: %s", self.issuer, exc)
                raise Unauthenticated("暂时无法验证令牌 (the identity provider's keys are unavailable)") from None
            self._keys = {str(k.key_id or ""): k for k in keys}
