"""A request body over the service's limit is refused with 413 naming the limit, and never read whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request

from shared.body_limit import BodyLimit

LIMIT = 1000


def app() -> FastAPI:
    service = FastAPI()
    service.add_middleware(BodyLimit, max_bytes=LIMIT)

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
