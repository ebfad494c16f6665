"""Composition root of supervision."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from fastapi import FastAPI

from services.supervision.adapters.consumer_lag import ConsumerLag
from services.supervision.adapters.orm import SCHEMA
from services.supervision.entrypoints import (
    bridges_api,
    centers_api,
    complaints_api,
    console_api,
    consumers,
    dead_letters_api,
)
from services.supervision.entrypoints.api import router
from services.supervision.entrypoints.console_api import ConsoleConfig
from services.supervision.service_layer.alerts import AlertDesk
from services.supervision.service_layer.away import StatusReporter
from services.supervision.service_layer.clocks import Clocks
from services.supervision.service_layer.deliveries import DeliveryWatch
from services.supervision.service_layer.rollup import FiguresReporter
from services.supervision.service_layer.scan import LadderScanner
from services.supervision.service_layer.seal import Sealer
from services.supervision.service_layer.watch import Watcher
from services.supervision.settings import SupervisionSettings
from shared.clock import SYSTEM_CLOCK, Clock, ManualClock
from shared.departments import chinese_names
from shared.http import make_app
from shared.identity import TokenVerifier, access_for
from shared.periodic import Periodic
from shared.runtime import Runtime
from shared.signing import KeyRegistry
from shared.workdays import WorkingCalendar

T = TypeVar("T")
EVENTS_GATHER_MS = 1000  # how long the broker may hold supervision's events back to hand over a fuller batch


def build(
    settings: SupervisionSettings | None = None, clock: Clock | None = None, verifier: TokenVerifier | None = None
) -> FastAPI:
    settings = settings or SupervisionSettings()
    access = access_for(settings, verifier)
    clock = clock or (ManualClock() if settings.clock == "manual" else SYSTEM_CLOCK)
    runtime = Runtime("supervision", settings, SCHEMA)
    calendar = WorkingCalendar(settings.calendar_overrides, settings.workday_end)
    policy = settings.policy()
    clocks = Clocks(calendar, policy)
    watcher = Watcher(clocks, settings.time_trust())
    topics = runtime.topics
    departments = settings.departments()
    names = chinese_names(departments)
    desk = AlertDesk(runtime.outbox, names)
    centers = settings.centers()
    peers = centers.peers(settings.center)
    children, parent = centers.children(settings.center), centers.parent(settings.center)
    handlers = consumers.handlers(topics, departments, watcher, clock)
    if peers:  # what the centers above and below send it: their figures, urgings, statuses
        _required(settings.center_signing_key, "LIANBAN_CENTER_SIGNING_KEY (what it sends other centers is signed)")
        keys = KeyRegistry.load(_required(settings.center_keys, "LIANBAN_CENTER_KEYS (the other centers' public keys)"))
        handlers |= consumers.from_children(topics, children, keys, desk, clock)
        handlers |= consumers.from_parent(topics, parent, keys, clock) if parent else {}
        runtime.publishes_to(*(topics.exchange(peer) for peer in peers))
    # no reply waits on supervision, and its clocks count working days: its events come in fuller batches
    runtime.consume(handlers, gather_ms=EVENTS_GATHER_MS)
    runtime.publishes_to(
        topics.alerts, topics.deemed_approvals, *(t for d in departments for t in (topics.work(d), topics.feedback(d)))
    )
    scanner = LadderScanner(
        runtime.sessions,
        desk,
        calendar,
        policy,
        clock,
        runtime.relay.notify,
        batch_size=settings.scan_batch_size,
        interval=settings.scan_interval_seconds,
    )

    sealer = Sealer(runtime.sessions, interval=settings.seal_interval_seconds)
    undelivered_after = timedelta(seconds=settings.undelivered_after_seconds)
    undelivered = DeliveryWatch(
        runtime.sessions,
        runtime.outbox,
        clock,
        runtime.relay.notify,
        names,
        undelivered_after=undelivered_after,
        interval=settings.scan_interval_seconds,
    )

    lag = ConsumerLag(settings.kafka, topics, departments)  # each adapter's, on its work topic, for the console
    reporter = FiguresReporter(settings.center, centers, runtime.sessions, runtime.outbox, calendar, clock, runtime.relay.notify)
    figures = Periodic("figures to the parent center", settings.figures_seconds, reporter.report)
    statuses = StatusReporter(settings.center, centers, runtime.sessions, runtime.outbox, names, clock, runtime.relay.notify)
    away = Periodic("transferred parts' status home", settings.scan_interval_seconds, statuses.report)

    async def start() -> None:
        await runtime.start()
        await scanner.reschedule_waiting(clocks)  # the override file may have learnt a new year
        scanner.start()
        sealer.start()
        undelivered.loop.start()
        if parent:
            figures.start()
        if children:
            away.start()

    async def stop() -> None:
        await away.stop()
        await figures.stop()
        await lag.close()
        await undelivered.loop.stop()
        await sealer.stop()
        await scanner.stop()
        await runtime.stop()

    app = make_app("Lianban supervision 电子监察", start, stop, max_body_bytes=settings.max_body_bytes)
    registry = KeyRegistry.load(settings.key_registry) if settings.key_registry else None
    exchange = (settings.center, centers) if peers else None
    app.include_router(router(runtime.sessions, clock, desk, runtime.relay.notify, calendar, access, registry, exchange))
    app.include_router(bridges_api.router(runtime.sessions, clock, access, names, undelivered_after))
    console = ConsoleConfig(
        settings.center,
        settings.console_issuer or settings.auth.issuer or "",
        settings.console_client_id,
        names,
        undelivered_after,
    )
    app.include_router(console_api.router(runtime.sessions, clock, access, calendar, console, lag.read))
    app.include_router(dead_letters_api.router(runtime.sessions, clock, access, runtime.relay.notify))
    app.include_router(complaints_api.router(runtime.sessions, clock, access, calendar, names, settings.complaint_days))
    app.include_router(centers_api.router(runtime.sessions, clock, access, calendar, settings.center, centers))
    console_api.serve_pages(app, settings.console_dir)
    app.state.runtime = runtime  # tests reach the wiring through it
    return app


def _required(value: T | None, setting: str) -> T:
    if value is None:
        raise RuntimeError(f"this center exchanges with others (shared/centers.json): it needs {setting}")
    return value
