"""What no request may carry, refused before any handler sees it: a body larger than the service
allows (413, naming the limit; never read whole), and NUL characters, which PostgreSQL cannot store
(422), in the path, the query or the JSON body."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL_IN_TARGET = (b"\x00", b"%00")  # raw, percent-encoded
NUL_IN_BODY = (b"\x00", b"\\u0000")  # raw, JSON-escaped


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class RequestGuard:
    """ASGI middleware: a declared Content-Length over the limit is refused before reading; a body
    sent in chunks is counted (and searched) as it arrives and refused as soon as it fails."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_head(scope)
        except Refused as refused:
            await _refuse(send, refused)
            return
        seen, tail, started = 0, b"", False

        async def checked() -> Message:
            nonlocal seen, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                seen += len(chunk)
                if seen > self.max_bytes:
                    raise self._too_large()
                if any(n in tail + chunk for n in NUL_IN_BODY):
                    raise _nul("body")
                tail = chunk[-6:]  # an escape split across two chunks is still found
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, checked, tracked)
        except Refused as refused:
            if not started:
                await _refuse(send, refused)

    def _check_head(self, scope: Scope) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()
        target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if any(n in target for n in NUL_IN_TARGET) or "\x00" in scope.get("path", ""):
            raise _nul("path or query")

    def _too_large(self) -> Refused:
        return Refused(413, f"请求体过大 the request body exceeds {self.max_bytes} bytes")


def _nul(where: str) -> Refused:
    return Refused(422, f"请求含有空字符 a NUL character (U+0000) in the {where}: not allowed in any text")


async def _refuse(send: Send, refused: Refused) -> None:
    body = json.dumps({"detail": refused.detail}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
