"""One line per HTTP request with who made it (责任可溯): method, path, status and the authenticated
subject (role:subject@center/department, or anonymous). Paths hold case and work-order ids, never
personal data, and the query string is left out."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("lianban.access")
QUIET = ("/health",)


class AccessLog:
    """ASGI middleware; the subject is what the identity gate put in the request's state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in QUIET:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            principal = scope.get("state", {}).get("principal")
            log.info(
                "%s %s %d by %s in %.0f ms",
                scope["method"],
                scope["path"],
                status,
                principal or "anonymous",
                (time.perf_counter() - started) * 1000,
            )
