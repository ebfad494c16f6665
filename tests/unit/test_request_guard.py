"""A request body over the service's limit is a 413 naming the limit (never read whole); a NUL anywhere is a 422."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from shared.request_guard import RequestGuard

LIMIT = 1000


class Text(BaseModel):
    text: str


def app() -> FastAPI:
    service = FastAPI()
    service.add_middleware(RequestGuard, max_bytes=LIMIT)

    @service.get("/find")
    async def find(q: str = "") -> dict[str, Any]:
        return {"q": q}

    @service.post("/model")
    async def model(body: Text) -> Text:
        return body

    @service.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return {"bytes": len(await request.body())}

    return service


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://test")


async def test_a_body_within_the_limit_is_read() -> None:
    async with client() as c:
        response = await c.post("/echo", content=b"x" * LIMIT)
    assert (response.status_code, response.json()) == (200, {"bytes": LIMIT})


async def test_a_declared_length_over_the_limit_is_a_413_naming_it() -> None:
    async with client() as c:
        response = await c.post("/echo", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == {"detail": f"请求体过大 the request body exceeds {LIMIT} bytes"}


async def test_a_body_sent_in_chunks_is_refused_once_it_passes_the_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):  # 100 KB offered; the limit is 1 KB
            yield b"x" * 1000

    async with client() as c:
        response = await c.post("/echo", content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("method", "url", "content"),
    [
        pytest.param("GET", "/find?q=a%00b", None, id="query"),
        pytest.param("POST", "/echo", b'{"staff_id": "S\\u0000"}', id="json-escaped"),
        pytest.param("POST", "/echo", b"raw\x00byte", id="raw"),
    ],
)
async def test_a_nul_character_anywhere_is_a_422(method: str, url: str, content: bytes | None) -> None:
    async with client() as c:
        response = await c.request(method, url, content=content)
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]


async def test_an_ordinary_query_passes() -> None:
    async with client() as c:
        assert (await c.get("/find?q=%E7%A8%8E%E5%8A%A1")).json() == {"q": "税务"}


async def test_a_body_model_gets_the_guards_answer_not_a_parsing_error() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b'{"text": "a\\', b"u00", b'00"}'):  # the escape split over three chunks
            yield piece

    async with client() as c:
        nul = await c.post("/model", content=chunks(), headers={"content-type": "application/json"})
        big = await c.post("/model", content=b'{"text": "' + b"x" * LIMIT + b'"}', headers={"content-type": "application/json"})
    assert (nul.status_code, big.status_code) == (422, 413)


async def test_an_escaped_backslash_before_u0000_is_ordinary_text() -> None:
    async with client() as c:
        response = await c.post("/model", content=b'{"text": "C:\\\\u0000"}', headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (200, {"text": "C:\\u0000"})
