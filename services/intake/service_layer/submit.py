"""Filing a joint case at the lead window: check it once, store it, tell every department at once."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.adapters.case_book import CaseBook
from services.intake.adapters.orm import CaseRecord
from services.intake.domain.case import Application, open_case
from services.intake.domain.catalog import Catalog, JointMatter
from services.intake.domain.exchange import Exchange
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Refused
from services.intake.service_layer.idempotency import IdempotencyConflict, digest, filing_key
from shared.clock import SYSTEM_CLOCK, Clock
from shared.contracts import CaseState, EventData, Outcome
from shared.db import SessionFactory
from shared.messaging.outbox import Outbox


class UnknownMatter(LookupError):
    pass


@dataclass(frozen=True)
class Submitted:
    case: JointCase
    created: bool


class SubmitCase:
    def __init__(
        self,
        sessions: SessionFactory,
        catalog: Catalog,
        outbox: Outbox,
        after_commit: Callable[[], None],
        clock: Clock = SYSTEM_CLOCK,
        exchange: Exchange | None = None,
    ) -> None:
        """`exchange`: this center among those it exchanges cases with: its parent decides the parts it reviews
        first (初审转报); a town point files every case at its parent for the applicant (代办)."""
        self.sessions, self.catalog, self.outbox = sessions, catalog, outbox
        self.after_commit, self.clock, self.exchange = after_commit, clock, exchange

    async def __call__(self, application: Application, idempotency_key: str | None) -> Submitted:
        """File once per Idempotency-Key of the window that sent it: another window's same key is another case."""
        scoped = filing_key(application.window_id, idempotency_key)
        joint = self.catalog.joint_matters.get(application.matter_code)
        if joint is None:
            raise UnknownMatter(application.matter_code)
        fingerprint = _fingerprint(application)
        try:
            async with self.sessions() as session, session.begin():  # the key looked up in the filing's own transaction
                if scoped and (earlier := await _by_key(session, scoped, idempotency_key)):
                    return self._replay(earlier, fingerprint)
                case, opening = self._opened(joint, application)
                book = CaseBook(session, self.outbox)
                if application.previous_case_id:
                    _second_application(await book.get(application.previous_case_id), application)
                book.add(case, scoped, fingerprint)
                book.publish(opening)
        except IntegrityError:
            if scoped is None:
                raise
            async with self.sessions() as session:
                earlier = await _by_key(session, scoped, idempotency_key)
            if earlier is None:
                raise
            return self._replay(earlier, fingerprint)
        self.after_commit()
        return Submitted(case, created=True)

    def _opened(self, joint: JointMatter, application: Application) -> tuple[JointCase, list[EventData]]:
        """The new case and the events that open it (at a town point, filed up at its district and followed here)."""
        now = self.clock.now()
        center, query_code = self.outbox.topics.center, _new_query_code()
        parent = self.exchange.parent if self.exchange else None
        case = open_case(self.catalog, joint, application, _new_case_id(now), center, now, query_code, parent)
        if self.exchange and self.exchange.files_for_applicants:  # 代办
            case.handled_at = self.exchange.parent[0] if self.exchange.parent else None
            return case, [*case.opening_for_applicant(now), self.exchange.filed_for_applicant(case, application.materials, now)]
        return case, case.opening(now)

    @staticmethod
    def _replay(earlier: CaseRecord, fingerprint: str) -> Submitted:
        if earlier.request_hash != fingerprint:
            raise IdempotencyConflict(
                "该窗口已将此 Idempotency-Key 用于另一份申请 (this window used this Idempotency-Key for a different application)"
            )
        return Submitted(JointCase.model_validate(earlier.document), created=False)


_BY_KEY = (  # built once: every filing with a key asks it
    select(CaseRecord).where(CaseRecord.idempotency_key.in_(bindparam("keys", expanding=True))).order_by(CaseRecord.submitted_at)
)


async def _by_key(session: AsyncSession, scoped: str, sent: str | None) -> CaseRecord | None:
    """The case filed under this window's key, or under the key as release 0.1.0 stored it (unscoped)."""
    return await session.scalar(_BY_KEY, {"keys": [scoped, sent]})


def _new_case_id(now: datetime) -> str:
    return f"LB{now:%Y%m%d}{uuid.uuid4().hex[:12].upper()}"


def _new_query_code() -> str:
    """Eight characters a clerk can read aloud: no 0/O, 1/I/L."""
    return "".join(secrets.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(8))


def _fingerprint(application: Application) -> str:
    data = asdict(application) | {"applicant": application.applicant.model_dump(mode="json")}
    return digest(json.dumps(data, sort_keys=True, ensure_ascii=False))


def _second_application(previous: JointCase | None, application: Application) -> None:
    """A second application (二次申请) follows a first one that ended in rectification."""
    if previous is None:
        raise Refused(f"首次申请 {application.previous_case_id} 不存在 (no such first application)")
    if previous.state is not CaseState.CONCLUDED or previous.outcome is not Outcome.RECTIFICATION_REQUIRED:
        raise Refused("只有要求整改的办件可以二次申请 (only a case that required rectification takes a second application)")
    if (previous.matter_code, previous.applicant.id_number) != (application.matter_code, application.applicant.id_number):
        raise Refused("二次申请须为同一申请人、同一事项 (same applicant and matter as the first application)")
