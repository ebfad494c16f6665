"""Composition root of a department adapter: one process per department."""

from __future__ import annotations

from typing import TypeVar

from fastapi import FastAPI

from services.department_adapter.adapters.connector import Connector
from services.department_adapter.adapters.database_connector import DatabaseConnector
from services.department_adapter.adapters.ferry_connector import FerryConnector
from services.department_adapter.adapters.http_connector import HttpConnector
from services.department_adapter.adapters.mirror_watch import MirrorWatch
from services.department_adapter.adapters.orm import SCHEMA
from services.department_adapter.entrypoints import consumers
from services.department_adapter.service_layer.accept import AcceptWork
from services.department_adapter.service_layer.dispatch import Dispatcher
from services.department_adapter.service_layer.report import BridgeReporter
from services.department_adapter.settings import AdapterSettings
from shared.clock import SYSTEM_CLOCK
from shared.http import make_app
from shared.runtime import Runtime
from shared.signing import KeyRegistry

T = TypeVar("T")


def connector_for(settings: AdapterSettings, runtime: Runtime) -> Connector:
    """The bridge the settings name (the departments file says which each department uses)."""
    if settings.connector == "http":
        return HttpConnector(settings.connector_url, settings.connector_timeout_seconds, settings.intake_url)
    if settings.connector == "ferry":
        return FerryConnector(
            settings.department,
            runtime.sessions,
            runtime.outbox,
            _required(runtime.outbox.signer, "LIANBAN_ADAPTER_SIGNING_KEY (the center's side signs its bundles)"),
            KeyRegistry.load(_required(settings.key_registry, "LIANBAN_KEY_REGISTRY (the agent's key is checked against it)")),
            _required(settings.ferry_outgoing, "LIANBAN_ADAPTER_FERRY_OUTGOING"),
            _required(settings.ferry_incoming, "LIANBAN_ADAPTER_FERRY_INCOMING"),
            SYSTEM_CLOCK,
            runtime.relay.notify,
            bundle_seconds=settings.ferry_bundle_seconds,
            poll_seconds=settings.bridge_poll_seconds,
        )
    if settings.connector == "database":
        url = settings.interface_database_url
        return DatabaseConnector(settings.department, url, settings.intake_url, settings.bridge_poll_seconds, SYSTEM_CLOCK)
    if settings.connector == "kafka":
        group = settings.mirror_group or f"{runtime.group}.system"  # under the adapter's group, as the ACLs allow
        work = runtime.topics.work(settings.department)
        return MirrorWatch(settings.mirror_kafka, work, group, SYSTEM_CLOCK, settings.bridge_poll_seconds)
    raise ValueError(f"LIANBAN_ADAPTER_CONNECTOR={settings.connector}: not built yet")


def _required(value: T | None, setting: str) -> T:
    if value is None:
        raise ValueError(f"this bridge needs {setting}")
    return value


def build(settings: AdapterSettings | None = None) -> FastAPI:
    settings = settings or AdapterSettings()
    name = f"adapter-{settings.department}"
    runtime = Runtime(name, settings, SCHEMA)
    connector = connector_for(settings, runtime)
    dispatcher = Dispatcher(
        settings.department,
        runtime.sessions,
        connector,
        runtime.outbox,
        runtime.dead_letters,
        SYSTEM_CLOCK,
        runtime.relay.notify,
        attempts=settings.attempts,
        backoff=settings.retry_backoff_seconds,
        concurrency=settings.concurrency,
        poll_seconds=settings.poll_seconds,
        max_backoff=settings.retry_backoff_max_seconds,
    )
    if settings.connector != "kafka":  # a department on its own Kafka takes its work by the mirror
        runtime.consume(consumers.handlers(runtime.topics, settings.department, AcceptWork()), after_commit=dispatcher.notify)
    topics, department = runtime.topics, settings.department
    runtime.publishes_to(
        topics.actions(department), topics.acknowledgements(department), topics.bridge(department), topics.feedback(department)
    )
    reporter = BridgeReporter(
        department, runtime.sessions, connector, runtime.outbox, SYSTEM_CLOCK, runtime.relay.notify, settings.report_seconds
    )

    async def start() -> None:
        await runtime.start()
        await connector.start(dispatcher.expedite)
        dispatcher.start()
        reporter.loop.start()

    async def stop() -> None:
        await reporter.loop.stop()
        await dispatcher.stop()
        await connector.close()
        await runtime.stop()

    app = make_app(f"Lianban adapter for {settings.department}", start, stop, max_body_bytes=settings.max_body_bytes)
    app.state.runtime = runtime  # tests reach the wiring through it
    return app
