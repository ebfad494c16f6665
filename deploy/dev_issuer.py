"""The embedded development identity provider of `make run` and the tests.

An EC key kept in a directory (``.run/issuer`` for `make run`), its OpenID Connect discovery document
and JWKS served over HTTP exactly where a real provider serves them, and tokens minted with the same
key (`lianban token --role department --department tax`). The services verify these tokens as they
verify Keycloak's, through ``LIANBAN_AUTH_ISSUER``: a center plugs in its own provider by pointing that
variable at it. Browsers log in through it too (the operators' console): the authorization code flow
with PKCE and a login page where anyone may be anyone (deploy/dev_issuer_login.py). Never for
production: whoever holds the key directory, or reaches the issuer, is everyone.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from deploy.dev_issuer_login import LoginFlow
from shared.identity import KeySetSource, Role
from shared.private_files import write_private
from shared.request_guard import RequestGuard

AUDIENCE = "lianban"
KEY_FILE, META_FILE = "key.pem", "issuer.json"


class DevIssuer:
    def __init__(self, url: str, key: ec.EllipticCurvePrivateKey, kid: str) -> None:
        self.url, self.key, self.kid = url.rstrip("/"), key, kid

    @classmethod
    def in_memory(cls, url: str = "http://issuer.test") -> DevIssuer:
        """A throwaway issuer for tests that verify tokens in process."""
        return cls(url, ec.generate_private_key(ec.SECP256R1()), uuid.uuid4().hex[:16])

    @classmethod
    def create(cls, directory: Path, url: str) -> DevIssuer:
        """A new key in `directory` (readable by its owner only), announced as issued by `url`."""
        issuer = cls.in_memory(url)
        directory.mkdir(parents=True, exist_ok=True)
        pem = issuer.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(directory / KEY_FILE, pem)
        (directory / META_FILE).write_text(json.dumps({"issuer": issuer.url, "kid": issuer.kid}))
        return issuer

    @classmethod
    def load(cls, directory: Path) -> DevIssuer:
        meta = json.loads((directory / META_FILE).read_text())
        key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(meta["issuer"], key, meta["kid"])

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def keys(self) -> KeySetSource:
        """The key set as a verifier's source, without HTTP (in-process tests)."""

        async def source() -> dict[str, Any]:
            return self.jwks()

        return source

    def mint(
        self,
        role: Role | str,
        subject: str,
        *,
        center: str | None = None,
        department: str | None = None,
        id_number: str | None = None,
        ttl: int = 3600,
        audience: str = AUDIENCE,
        **claims: Any,
    ) -> str:
        """An access token with Lianban's claims, as a real provider would issue it."""
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": audience,
            "sub": subject,
            "preferred_username": subject,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "lianban_role": str(role),
        }
        extra = {"lianban_center": center, "lianban_department": department, "lianban_id_number": id_number}
        body |= {k: v for k, v in extra.items() if v is not None} | claims
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": self.kid})

    def app(self, center: str | None = None) -> FastAPI:
        """Discovery, keys and the login flow; the login page offers `center` (default: LIANBAN_CENTER, else
        `demo`). Any origin may read the discovery document and keys and exchange codes (no credentials)."""
        app = FastAPI(title="Lianban development issuer (not for production)")
        app.add_middleware(RequestGuard, max_bytes=16_384)
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["*"])
        app.state.login = login = LoginFlow(self, center or os.environ.get("LIANBAN_CENTER") or "demo")
        app.include_router(login.router())

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/jwks.json",
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "id_token_signing_alg_values_supported": ["ES256"],
                "subject_types_supported": ["public"],
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid"],
                "token_endpoint_auth_methods_supported": ["none"],
            }

        @app.get("/jwks.json")
        async def jwks() -> dict[str, Any]:
            return self.jwks()

        @app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        return app


def default_dir() -> Path:
    """Where the development issuer keeps its key: LIANBAN_DEV_ISSUER_DIR, or `make run`'s `.run/issuer`."""
    return Path(os.environ.get("LIANBAN_DEV_ISSUER_DIR", ".run/issuer"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the development issuer's discovery document and keys.")
    parser.add_argument("--dir", type=Path, default=default_dir())
    parser.add_argument("--port", type=int, default=int(os.environ.get("LIANBAN_DEV_ISSUER_PORT", "8100")))
    args = parser.parse_args()
    url = os.environ.get("LIANBAN_DEV_ISSUER_URL") or f"http://127.0.0.1:{args.port}"  # as the services reach it
    issuer = DevIssuer.load(args.dir) if (args.dir / KEY_FILE).exists() else DevIssuer.create(args.dir, url)
    host = os.environ.get("LIANBAN_DEV_ISSUER_HOST", "127.0.0.1")
    uvicorn.run(issuer.app(), host=host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
