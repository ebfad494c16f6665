"""Pieces every HTTP entrypoint shares."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.access_log import AccessLog
from shared.request_guard import RequestGuard


def make_app(
    title: str,
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    *,
    max_body_bytes: int,
    streamed: tuple[str, ...] = (),
) -> FastAPI:
    """A FastAPI app whose lifespan starts and stops the service's runtime, with a health check, a
    limit on request bodies and a line per request naming who made it."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await start()
        yield
        await stop()

    app = FastAPI(title=title, lifespan=lifespan)
    app.add_middleware(RequestGuard, max_bytes=max_body_bytes, streamed=streamed)  # uploads: their own limit
    app.add_middleware(AccessLog)  # outermost: every request, refused or not, with its subject

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and its runtime started."""
        return {"status": "ok"}

    return app
