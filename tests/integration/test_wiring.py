"""Each service's wiring without a broker (FastStream's TestKafkaBroker): it reads exactly the topics
its `entrypoints/consumers.py` names, and a message on each reaches its handler and the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker
from sqlalchemy import select

from services.department_adapter.adapters.orm import InboxItem, WorkStatus
from services.department_adapter.bootstrap import build as adapter
from services.department_adapter.settings import AdapterSettings
from services.gateway.adapters.orm import ApplicantView
from services.gateway.bootstrap import build as gateway
from services.gateway.settings import GatewaySettings
from services.intake.bootstrap import build as intake
from services.intake.settings import IntakeSettings
from services.supervision.adapters.orm import BridgeState, CaseFile, DeadLetterRecord, TimelineEntry
from services.supervision.bootstrap import build as supervision
from services.supervision.settings import SupervisionSettings
from shared.contracts import (
    AlertAcknowledged,
    Approve,
    BridgeReport,
    CloudEvent,
    DeadLetter,
    DepartmentActed,
    EventData,
    WorkOrder,
)
from shared.departments import load_departments
from shared.messaging.outbox import OutboxRow
from shared.migrations import migrate
from shared.runtime import Runtime
from shared.topics import Topics
from tests.builders import a_case
from tests.identity import verifier

CENTER = "wiring"
TOPICS = Topics(CENTER)
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


@pytest.fixture
async def wired(database_url: str) -> AsyncIterator[Callable[[FastAPI], Any]]:
    """Start a service's runtime on the test database with an in-memory broker."""
    runtimes: list[Runtime] = []

    async def wire(app: FastAPI) -> Runtime:
        runtime: Runtime = app.state.runtime
        runtimes.append(runtime)
        await migrate(runtime.engine, runtime.schema)
        return runtime

    yield wire
    for runtime in runtimes:
        await runtime.engine.dispose()


def settings(kind: type[Any], database_url: str, **more: Any) -> Any:
    return kind(database_url=database_url, **{"LIANBAN_CENTER": CENTER}, **more)


async def publish(runtime: Runtime, topic: str, data: EventData, subject: str) -> None:
    event = CloudEvent.wrap(data, source="/test", subject=subject)
    await runtime.broker.publish(event.to_bytes(), topic, key=subject.encode())


def topics_read(runtime: Runtime) -> set[str]:
    return {name for subscriber in runtime.broker.subscribers for name in cast(Any, subscriber).topic_names}


async def test_intake_reads_the_department_actions(wired: Any, database_url: str) -> None:
    runtime = await wired(intake(settings(IntakeSettings, database_url), verifier()))
    async with TestKafkaBroker(runtime.broker):
        assert topics_read(runtime) == {TOPICS.actions(d) for d in load_departments()} | {TOPICS.deemed_approvals}
        acted = DepartmentActed(
            case_id="LB-NONE",
            work_order_id="LB-NONE-tax",
            department="tax",
            staff_id="T-1",
            acted_at=NOW,
            action=Approve(document_number="T-1"),
        )
        await publish(runtime, TOPICS.actions("tax"), acted, "LB-NONE")
    async with runtime.sessions() as session:
        queued = [(r.topic, CloudEvent.from_bytes(r.payload)) for r in await session.scalars(select(OutboxRow))]
    assert {(topic, e.type, e.subject) for topic, e in queued} == {
        (TOPICS.case_events, "cn.lianban.action.refused.v1", "LB-NONE"),
        (TOPICS.feedback("tax"), "cn.lianban.action.refused.v1", "LB-NONE"),  # tax is told on its own feedback topic
    }


async def test_the_gateway_reads_the_case_events(wired: Any, database_url: str) -> None:
    runtime = await wired(gateway(settings(GatewaySettings, database_url), verifier()))
    case = a_case(case_id="LB-W1")
    async with TestKafkaBroker(runtime.broker):
        assert topics_read(runtime) == {TOPICS.case_events}
        await publish(runtime, TOPICS.case_events, case.opening(NOW)[0], case.case_id)
    async with runtime.sessions() as session:
        view = await session.get(ApplicantView, "LB-W1")
    assert view is not None
    assert view.state == "pre_review"


async def test_supervision_reads_the_case_events_the_replies_the_acknowledgements_the_bridges_and_the_dead_letters(
    wired: Any, database_url: str
) -> None:
    runtime = await wired(supervision(settings(SupervisionSettings, database_url), verifier=verifier()))
    case = a_case(case_id="LB-W2")
    acked = AlertAcknowledged(alert_id="A-1", case_id="LB-W2", department="tax", staff_id="T-9", acknowledged_at=NOW)
    report = BridgeReport(department="tax", bridge="database", reported_at=NOW, waiting=0, last_contact_at=NOW)
    async with TestKafkaBroker(runtime.broker):
        per_department = {t for d in load_departments() for t in (TOPICS.acknowledgements(d), TOPICS.bridge(d))}
        assert topics_read(runtime) == {TOPICS.case_events, TOPICS.replies, TOPICS.dead_letters} | per_department
        await publish(runtime, TOPICS.case_events, case.opening(NOW)[0], case.case_id)
        letter = DeadLetter.of(
            consumer="g", error="boom", topic=TOPICS.replies, partition=0, offset=3, key="LB-W2", original=b"?"
        )
        await publish(runtime, TOPICS.dead_letters, letter, "LB-W2")
        await publish(runtime, TOPICS.acknowledgements("tax"), acked, "LB-W2")
        await publish(runtime, TOPICS.bridge("tax"), report, "tax")
    async with runtime.sessions() as session:
        assert await session.get(CaseFile, "LB-W2") is not None
        timeline = list(await session.scalars(select(TimelineEntry.event_type).where(TimelineEntry.case_id == "LB-W2")))
        bridge = await session.get(BridgeState, "tax")
        kept = list(await session.scalars(select(DeadLetterRecord.error)))
    assert kept == ["boom"]
    assert timeline == ["cn.lianban.case.submitted.v1", "cn.lianban.supervision.acknowledged.v1"]
    assert bridge is not None
    assert (bridge.bridge, bridge.last_contact_at) == ("database", NOW)


async def test_an_adapter_reads_only_its_own_departments_work(wired: Any, database_url: str) -> None:
    runtime = await wired(adapter(settings(AdapterSettings, database_url, department="tax")))
    order = next(e for e in a_case(case_id="LB-W3").opening(NOW) if isinstance(e, WorkOrder) and e.department == "tax")
    async with TestKafkaBroker(runtime.broker):
        assert topics_read(runtime) == {TOPICS.work("tax")}
        await publish(runtime, TOPICS.work("tax"), order, "LB-W3")
    async with runtime.sessions() as session:
        inbox = [(i.item_id, i.status) for i in await session.scalars(select(InboxItem))]
    assert inbox == [("LB-W3-tax#review1", WorkStatus.PENDING)]
