"""HTTP of the operators' console (电子监察控制台): its configuration and pages, the live stream of the
center's events (server-sent events), the overview, one case as a chart, parallel against serial handling,
and each department with its bridge. Dead letters and complaints have their own routers.

Supervisors, administrators and operators read the console; the page itself logs them in with the
center's identity provider (authorization code with PKCE), and every call carries the token."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from services.supervision.entrypoints.bridges_api import BridgeView, bridge_views
from services.supervision.service_layer.gantt import gantt
from services.supervision.service_layer.live import LiveCursor, LiveFilter
from services.supervision.service_layer.overview import departments, overview, savings
from shared.clock import Clock
from shared.db import SessionFactory
from shared.identity import Access, Principal, Role
from shared.workdays import WorkingCalendar

CONSOLE_READERS = (Role.SUPERVISOR, Role.ADMIN, Role.OPERATOR)
STREAM = "text/event-stream"
Lag = Callable[[], Awaitable[dict[str, int | None]]]


@dataclass(frozen=True)
class ConsoleConfig:
    """What the page needs before it can call anything: where to log in, and the center's departments."""

    center: str
    issuer: str
    client_id: str
    names: dict[str, str]
    undelivered_after: timedelta
    live_poll_seconds: float = 0.25
    live_stream_seconds: float = 300.0  # a stream ends after this; the page reconnects (and its token is checked again)


def router(
    sessions: SessionFactory,
    clock: Clock,
    access: Access,
    calendar: WorkingCalendar,
    config: ConsoleConfig,
    lag: Lag | None = None,
) -> APIRouter:
    api = APIRouter(tags=["console"])
    reader = Depends(access.allow(*CONSOLE_READERS))
    names = config.names

    @api.get("/console/config.json", include_in_schema=False)
    async def console_config() -> dict[str, Any]:
        return {
            "center": config.center,
            "issuer": config.issuer,
            "client_id": config.client_id,
            "scope": "openid",
            "departments": names,
            "undelivered_after_seconds": config.undelivered_after.total_seconds(),
        }

    @api.get(
        "/api/v1/supervision/live",
        response_class=StreamingResponse,
        responses={200: {"content": {STREAM: {}}, "description": "Server-sent events: `entry` and `heartbeat`."}},
    )
    async def live(
        request: Request,
        department: str | None = Query(default=None, max_length=64),
        matter: str | None = Query(default=None, max_length=64),
        state: Literal["submitted", "handling", "concluded", "not_accepted"] | None = None,
        after: int | None = Query(default=None, ge=0, description="The last entry id seen: the stream goes on from it."),
        _caller: Principal = reader,
    ) -> StreamingResponse:
        """实时监控: the center's events as they are recorded (server-sent events `entry`), and a `heartbeat`
        about every second whose `checked_at` says how fresh the screen is."""
        cursor = LiveCursor(LiveFilter(department, matter, state), names, after)
        return StreamingResponse(
            _stream(request, cursor),
            media_type=STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _stream(request: Request, cursor: LiveCursor) -> AsyncIterator[str]:
        ends, beat, newest = time.monotonic() + config.live_stream_seconds, 0.0, None
        while time.monotonic() < ends and not await request.is_disconnected():
            async with sessions() as session:
                entries = await cursor.read(session)
            for entry in entries:
                newest = entry["occurred_at"]
                yield f"event: entry\nid: {entry['id']}\ndata: {json.dumps(entry, ensure_ascii=False)}\n\n"
            if entries or time.monotonic() - beat >= 1.0:
                beat = time.monotonic()
                checked = datetime.now(UTC).isoformat()  # freshness is wall-clock time, whatever supervision counts with
                yield f"event: heartbeat\ndata: {json.dumps({'checked_at': checked, 'newest_at': newest})}\n\n"
            await asyncio.sleep(config.live_poll_seconds)

    @api.get("/api/v1/supervision/overview")
    async def read_overview(_caller: Principal = reader) -> dict[str, Any]:
        """总览: cases by state, parts by department and state, overdue parts by how late, today's cards,
        the months' rates, the departments' ranking and the applicants' marks (好差评)."""
        async with sessions() as session:
            return await overview(session, calendar, clock.now(), names)

    @api.get("/api/v1/supervision/cases/{case_id}/gantt")
    async def case_chart(case_id: str, _caller: Principal = reader) -> dict[str, Any]:
        """一案一图: each department's part over the calendar, its suspensions, deadline and cards."""
        async with sessions() as session:
            chart = await gantt(session, case_id, calendar, clock.now(), names)
        if chart is None:
            raise HTTPException(404, f"监察系统中未找到该办件 case {case_id} is not known to supervision")
        return chart

    @api.get("/api/v1/supervision/savings")
    async def read_savings(_caller: Principal = reader) -> dict[str, Any]:
        """并联成效: concluded cases' working days in parallel against the sum of their parts' (串联)."""
        async with sessions() as session:
            return await savings(session, calendar)

    @api.get("/api/v1/supervision/departments")
    async def read_departments(_caller: Principal = reader) -> list[dict[str, Any]]:
        """部门与通道: per department what is open and waits for it, its adapter's consumer lag on its work
        topic, and its bridge; `alarm` when work waits too long or the bridge is in trouble."""
        now = clock.now()
        async with sessions() as session:
            views = await departments(session, now, names, config.undelivered_after)
            bridges = {b.department: b for b in await bridge_views(session, now, names, config.undelivered_after)}
        lags = await lag() if lag else {}
        rows = []
        for department, view in views.items():
            bridge = bridges.get(department)
            late = view.pop("late")
            rows.append(
                view
                | {
                    "bridge": bridge.bridge if bridge else None,
                    "consumer_lag": _lag(lags.get(department), bridge),
                    "bridge_status": bridge.status_text if bridge else None,
                    "last_contact_at": bridge.last_contact_at.isoformat() if bridge and bridge.last_contact_at else None,
                    "bridge_detail": bridge.detail if bridge else {},
                    "alarm": late or (bridge is not None and bridge.status != "ok"),
                }
            )
        return rows

    return api


def _lag(adapter_lag: int | None, bridge: BridgeView | None) -> int | None:
    """A department on its own Kafka takes its work through MirrorMaker, not through its adapter's group:
    its lag is its system's on its own cluster, as its bridge reports it."""
    if bridge is not None and bridge.bridge == "kafka":
        reported = bridge.detail.get("lag")
        return reported if isinstance(reported, int) else None
    return adapter_lag


def serve_pages(app: FastAPI, directory: Path) -> None:
    """The built console at /console/ (`make console` builds it with npm); a clear answer when it is not built."""

    async def home() -> RedirectResponse:
        return RedirectResponse("/console/")

    app.add_api_route("/", home, include_in_schema=False)
    if (directory / "index.html").exists():
        app.mount("/console", StaticFiles(directory=directory, html=True), name="console")
        return

    async def not_built() -> PlainTextResponse:
        return PlainTextResponse(f"控制台尚未构建：请运行 make console (the console is not built: {directory})", 503)

    app.add_api_route("/console/{path:path}", not_built, include_in_schema=False)
