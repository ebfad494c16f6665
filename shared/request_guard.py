"""What no request may carry, refused before any handler sees it: a body larger than the service
allows (413, naming the limit; never read past it), and NUL characters, which PostgreSQL cannot
store (422), in the path, the query or the body. A file upload's path is left to its handler, which
streams the body to storage under its own limit (shared/materials)."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL_IN_TARGET = (b"\x00", b"%00")  # raw, percent-encoded
# A JSON escape for U+0000: `\u0000` after an even number of backslashes (an odd one escapes the `\`).
NUL_IN_BODY = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class RequestGuard:
    """ASGI middleware. The body (at most the limit, so this is bounded) is read here, checked whole,
    then handed to the app as if it came from the client: a refusal is this middleware's answer,
    never an error raised inside the framework's own body parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: tuple[str, ...] = ()) -> None:
        self.app, self.max_bytes, self.streamed = app, max_bytes, streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in self.streamed and scope.get("method") in ("POST", "PUT"):
            await self.app(scope, receive, send)  # a file upload: its handler streams it with its own limit
            return
        try:
            self._check_head(scope)
            body, final = await self._read(receive)
        except Refused as refused:
            await _refuse(send, refused)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if final["type"] == "http.request":
                    return {"type": "http.request", "body": body, "more_body": False}
                return final  # the client went away before the body was whole
            return await receive()  # what follows the body: a disconnect

        await self.app(scope, replay, send)

    def _check_head(self, scope: Scope) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()
        target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if any(n in target for n in NUL_IN_TARGET) or "\x00" in scope.get("path", ""):
            raise _nul("path or query")

    async def _read(self, receive: Receive) -> tuple[bytes, Message]:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"", message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                body = b"".join(chunks)
                if NUL_IN_BODY.search(body):
                    raise _nul("body")
                return body, message

    def _too_large(self) -> Refused:
        return Refused(413, f"请求体过大 the request body exceeds {self.max_bytes} bytes")


def _nul(where: str) -> Refused:
    return Refused(422, f"请求含有空字符 a NUL character (U+0000) in the {where}: not allowed in any text")


async def _refuse(send: Send, refused: Refused) -> None:
    body = json.dumps({"detail": refused.detail}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
