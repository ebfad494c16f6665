"""Intake's HTTP as services/intake/bootstrap.py composes it, without Kafka: its routers, error handlers
and request guard on a real database, materials in a directory, called in process through ASGI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.intake.entrypoints import catalog_api, department_api, errors, materials_api, window_api
from services.intake.service_layer.act import CaseActions
from services.intake.service_layer.materials import MaterialDesk
from services.intake.service_layer.submit import SubmitCase
from services.intake.settings import IntakeSettings
from shared.db import SessionFactory
from shared.materials import FilesystemStore, MaterialStore, UploadRules
from shared.messaging.outbox import Outbox
from shared.request_guard import RequestGuard
from shared.topics import Topics
from tests.builders import CATALOG, materials_for
from tests.identity import AsStaff, access

DEFAULTS = IntakeSettings()


async def intake_app(
    sessions: SessionFactory,
    materials: Path,
    rules: UploadRules | None = None,
    case_limit: int = DEFAULTS.case_materials_max_bytes,
    store: MaterialStore | None = None,
) -> FastAPI:
    outbox = Outbox("/test/intake", Topics("test"))
    actions = CaseActions(sessions, outbox, lambda: None)
    store = store or FilesystemStore(materials)
    await store.start()
    desk = MaterialDesk(sessions, store, rules or DEFAULTS.upload_rules(), case_limit)
    app = FastAPI()
    app.add_middleware(RequestGuard, max_bytes=DEFAULTS.max_body_bytes, streamed=(materials_api.UPLOAD_PATH,))
    errors.install(app)
    app.include_router(window_api.router(SubmitCase(sessions, CATALOG, outbox, lambda: None), actions, desk, access()))
    app.include_router(department_api.router(sessions, actions, access()))
    app.include_router(materials_api.router(desk, actions, access()))
    app.include_router(catalog_api.router(CATALOG))
    app.state.actions = actions
    return app


def client_of(app: FastAPI) -> httpx.AsyncClient:
    """Every request with the token of the staff who would send it (see AsStaff)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test", auth=AsStaff())


def filing(**changes: Any) -> dict[str, Any]:
    """The lead window's body for a restaurant opening (JM-REST-001) with every material."""
    return {
        "matter_code": "JM-REST-001",
        "applicant": {"kind": "enterprise", "name": "杭州味道餐饮管理有限公司", "id_number": "91330100MA2H000001"},
        "lead_window": {"department": "market", "window_id": "W-03"},
        "materials": materials_for("JM-REST-001"),
    } | changes
