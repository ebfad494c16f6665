"""Records from the centers this one exchanges cases with, applied in the consumer's transaction, each
stage once: a part a child center transferred here is filed as an accepted case; the decision on a part
this center transferred up becomes that part's decision (its one reply is then built here as usual); a
town point's filing becomes this center's case, and its outcome goes back to the town."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.adapters.case_book import CaseBook
from services.intake.domain.case import ApplicationInvalid
from services.intake.domain.catalog import Catalog
from services.intake.domain.exchange import Exchange, ExchangeRefused
from services.intake.domain.lifecycle import JointCase
from services.intake.service_layer.act import apply
from shared.clock import SYSTEM_CLOCK, Clock
from shared.contracts import (
    AgentCaseConcluded,
    CaseFiledForApplicant,
    EventData,
    ExchangeRecord,
    PartActionRecorded,
    PartTransferred,
    TransferDecided,
)
from shared.messaging.outbox import Outbox
from shared.messaging.processed import claim

STAGES = "exchange-stages"  # the processed-message record of exchange records, by serial number, stage and stage id


class ExchangeDesk:
    def __init__(self, exchange: Exchange, catalog: Catalog, outbox: Outbox, clock: Clock = SYSTEM_CLOCK) -> None:
        self.exchange, self.catalog, self.outbox, self.clock = exchange, catalog, outbox, clock

    async def receive(self, session: AsyncSession, records: list[ExchangeRecord], signed: list[dict[str, Any] | None]) -> None:
        """Apply each record whose stage key is new (a record sent again, under another event id, changes
        nothing); `signed`: each record as its center signed it, kept with the decision it carries. A record
        this center cannot take raises ExchangeRefused, and the consumer dead-letters it with the reason."""
        fresh: dict[str, tuple[ExchangeRecord, dict[str, Any] | None]] = {}
        for record, event in zip(records, signed, strict=True):
            fresh.setdefault(record.stage_key, (record, event))
        claimed = await claim(session, STAGES, list(fresh))
        fresh = {key: taken for key, taken in fresh.items() if key in claimed}
        if not fresh:
            return
        book, now = CaseBook(session, self.outbox), self.clock.now()
        for record, event in fresh.values():
            if isinstance(record, PartTransferred):
                await self._file(book, record, now)
            elif isinstance(record, TransferDecided):
                await self._decided(book, record, event, now)
            elif isinstance(record, CaseFiledForApplicant):
                await self._file_for_agent(book, record, now)
            elif isinstance(record, AgentCaseConcluded):
                await self._concluded_there(book, record, now)
        await book.flush()

    async def _file(self, book: CaseBook, record: PartTransferred, now: datetime) -> None:
        if await book.get(record.serial) is not None:  # filed already (a record sent again with a new stage id)
            return
        case = self.exchange.filed(record, self.catalog, now)
        book.add(case, None, record.stage_key)
        book.publish(case.opening_transferred(now))

    async def _decided(self, book: CaseBook, record: TransferDecided, signed: dict[str, Any] | None, now: datetime) -> None:
        case = await book.get(record.serial)
        part = next((p for p in case.parts if p.work_order_id == record.stage_id), None) if case else None
        if case is None or part is None:
            raise ExchangeRefused(f"本中心无办件 {record.serial} 的事项 {record.stage_id} (no such case or part here)")
        department = part.department

        def step(case: JointCase, at: datetime) -> list[EventData]:
            recorded, *follow_up = case.transfer_decided(department, record.staff_id, record.decision, at, record.decided_at)
            assert isinstance(recorded, PartActionRecorded)
            home = self.exchange.concluded(case, follow_up, at)  # a case a town point filed here: its outcome back
            return [recorded.model_copy(update={"signed_event": signed}), *follow_up, *home]

        refusal: dict[str, object] = dict(
            department=department, staff_id=record.staff_id, work_order_id=part.work_order_id, action=record.decision
        )
        await apply(book, record.serial, step, now, refusal)

    async def _file_for_agent(self, book: CaseBook, record: CaseFiledForApplicant, now: datetime) -> None:
        """A town point's filing (代办) as this center's own case; one this center cannot file goes back as not
        accepted, with the reasons, so the town can tell the applicant."""
        if await book.get(record.serial) is not None:
            return
        try:
            case = self.exchange.filed_for_agent(record, self.catalog, now)
        except ApplicationInvalid as invalid:
            book.publish([self.exchange.not_filed(record, invalid.problems, now)])
            return
        book.add(case, None, record.stage_key)
        book.publish(case.opening(now))

    async def _concluded_there(self, book: CaseBook, record: AgentCaseConcluded, now: datetime) -> None:
        """The district concluded a case this town point filed: the outcome, for the reply to hand over."""
        if await book.get(record.serial) is None:
            raise ExchangeRefused(f"本中心无代办件 {record.serial} (no such case filed here)")

        def step(case: JointCase, _at: datetime) -> list[EventData]:
            return case.concluded_elsewhere(record.outcome, record.parts, record.concluded_at)

        refusal: dict[str, object] = {"kind": "concluded_elsewhere", "detail": {"reasons": record.reasons}}
        await apply(book, record.serial, step, now, refusal)
