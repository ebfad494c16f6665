"""Composition root of intake, the lead window and the keeper of every case's state."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.adapters.orm import SCHEMA
from services.intake.domain.catalog import Catalog
from services.intake.domain.exchange import Exchange
from services.intake.entrypoints import catalog_api, consumers, department_api, errors, materials_api, window_api
from services.intake.service_layer.act import CaseActions
from services.intake.service_layer.exchange import ExchangeDesk
from services.intake.service_layer.materials import MaterialDesk
from services.intake.service_layer.submit import SubmitCase
from services.intake.settings import IntakeSettings
from shared.http import make_app
from shared.identity import TokenVerifier, access_for
from shared.materials import open_store
from shared.runtime import Runtime
from shared.signing import KeyRegistry
from shared.workdays import WorkingCalendar


def signatures(settings: IntakeSettings) -> KeyRegistry | None:
    """The departments' registered keys, when the center requires signed actions."""
    if not settings.require_signatures:
        return None
    if settings.key_registry is None:
        raise RuntimeError("LIANBAN_INTAKE_REQUIRE_SIGNATURES needs LIANBAN_KEY_REGISTRY (the departments' public keys)")
    return KeyRegistry.load(settings.key_registry)


def exchange_with_centers(settings: IntakeSettings) -> tuple[Exchange, KeyRegistry] | None:
    """This center among the centers it exchanges cases with, and their registered keys; None for a center
    that exchanges with no one (not in the centers file, or alone in it)."""
    centers = settings.centers()
    if settings.center not in centers or not centers.peers(settings.center):
        return None
    if settings.center_keys is None or settings.center_signing_key is None:
        raise RuntimeError(
            f"{settings.center} exchanges cases with {centers.peers(settings.center)}: it needs LIANBAN_CENTER_KEYS (their "
            "public keys) and LIANBAN_CENTER_SIGNING_KEY(_ID) (its own), see docs/exchange.md"
        )
    return Exchange(settings.center, centers, WorkingCalendar(settings.calendar_overrides)), KeyRegistry.load(
        settings.center_keys
    )


def build(settings: IntakeSettings | None = None, verifier: TokenVerifier | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    access = access_for(settings, verifier)
    catalog = Catalog.load(settings.catalog_path, settings.departments())
    runtime = Runtime("intake", settings, SCHEMA)
    topics = runtime.topics
    exchange = exchange_with_centers(settings)
    centers = exchange[0] if exchange else None
    submit = SubmitCase(runtime.sessions, catalog, runtime.outbox, runtime.relay.notify, exchange=centers)
    actions = CaseActions(runtime.sessions, runtime.outbox, runtime.relay.notify, exchange=centers)
    handlers = consumers.handlers(topics, catalog.departments, actions, signatures(settings))
    if exchange:
        handlers |= consumers.exchange_handlers(topics, ExchangeDesk(exchange[0], catalog, runtime.outbox), exchange[1])
        runtime.publishes_to(*(topics.exchange(peer) for peer in exchange[0].peers))
    runtime.consume(handlers)
    runtime.publishes_to(topics.case_events, *(t for d in catalog.departments for t in (topics.work(d), topics.feedback(d))))
    store = open_store(settings.materials)
    desk = MaterialDesk(runtime.sessions, store, settings.upload_rules(), settings.case_materials_max_bytes)

    async def start() -> None:
        await store.start()
        await runtime.start()

    async def stop() -> None:
        await runtime.stop()
        await store.stop()

    app = make_app(
        "Lianban intake 联办受理", start, stop, max_body_bytes=settings.max_body_bytes, streamed=(materials_api.UPLOAD_PATH,)
    )
    errors.install(app)
    app.include_router(window_api.router(submit, actions, desk, access))
    app.include_router(materials_api.router(desk, actions, access))
    app.include_router(department_api.router(runtime.sessions, actions, access))
    app.include_router(catalog_api.router(catalog))
    app.state.runtime = runtime  # tests reach the wiring through it
    return app
