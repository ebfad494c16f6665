"""Composition root of the intake service."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.adapters.orm import Base
from services.intake.domain.catalog import Catalog
from services.intake.entrypoints.api import router
from services.intake.service_layer.submit import SubmitCase
from shared.http import make_app
from shared.runtime import Runtime
from shared.settings import IntakeSettings


def build(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = Runtime("intake", settings, Base.metadata)
    catalog = Catalog.load(settings.catalog_path)
    runtime.publishes_to(runtime.topics.case_events, *(runtime.topics.work(d) for d in catalog.departments))
    submit = SubmitCase(runtime.sessions, catalog, runtime.outbox, runtime.topics, runtime.relay.notify)
    app = make_app("Lianban intake 联办受理", runtime.start, runtime.stop)
    app.state.catalog = catalog
    app.include_router(router(submit))
    return app
