"""Composition root of the gateway."""

from __future__ import annotations

from fastapi import FastAPI

from services.gateway.adapters.orm import SCHEMA
from services.gateway.entrypoints import consumers
from services.gateway.entrypoints.api import router
from services.gateway.service_layer.project import Projector
from services.gateway.settings import GatewaySettings
from shared.http import make_app
from shared.identity import TokenVerifier, access_for
from shared.materials import open_store
from shared.runtime import Runtime


def build(settings: GatewaySettings | None = None, verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    access = access_for(settings, verifier)
    runtime = Runtime("gateway", settings, SCHEMA)
    runtime.consume(consumers.handlers(runtime.topics, Projector(runtime.outbox)))
    runtime.publishes_to(runtime.topics.replies)
    store = open_store(settings.materials)  # the certificates departments issued, delivered with the reply

    async def start() -> None:
        await store.start()
        await runtime.start()

    async def stop() -> None:
        await runtime.stop()
        await store.stop()

    app = make_app("Lianban gateway 统一回复", start, stop, max_body_bytes=settings.max_body_bytes)
    app.include_router(router(runtime.sessions, access, store))
    app.state.runtime = runtime  # tests reach the wiring through it
    return app
