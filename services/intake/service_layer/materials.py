"""Materials at intake: received once at the window, named by the cases that use them, read only by the
departments whose parts list them (and the window), every read recorded."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.intake.adapters.orm import MaterialRead, MaterialRecord
from services.intake.domain.case import Application, ApplicationInvalid
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import FILE_REFERENCE, FileFacts, stored_file
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import SessionFactory
from shared.identity import Principal, Role
from shared.materials import MaterialStore, StoredFile, UploadRules, open_file, receive
from shared.materials.upload import UploadRefused

SHA256 = re.compile("^[0-9a-f]{64}$")


class NotReadable(LookupError):
    """No such file among what this caller may read: answered as not found, whichever it is."""


class Removed(LookupError):
    """The file was this caller's to read, but its retention period ended and its bytes are gone."""

    def __init__(self, removed_at: datetime) -> None:
        super().__init__(f"已超过保存期限，于 {removed_at:%Y-%m-%d} 删除 (removed when its retention period ended)")


@dataclass
class MaterialDesk:
    sessions: SessionFactory
    store: MaterialStore
    rules: UploadRules
    case_limit: int
    clock: Clock = SYSTEM_CLOCK

    async def upload(self, chunks: AsyncIterator[bytes], staff: Principal) -> StoredFile:
        stored = await receive(chunks, self.store, self.rules)
        now = self.clock.now()
        try:
            async with self.sessions() as session, session.begin():
                if (earlier := await session.get(MaterialRecord, stored.sha256)) is None:
                    session.add(
                        MaterialRecord(
                            sha256=stored.sha256,
                            size=stored.size,
                            media_type=stored.media_type,
                            uploaded_by=staff.subject,
                            uploaded_at=now,
                        )
                    )
                elif earlier.removed_at is not None:  # brought again after its retention ended: stored again
                    earlier.removed_at, earlier.uploaded_at = None, now
        except IntegrityError:
            pass  # the same file, uploaded by someone else at the same moment: recorded once, by them
        return stored

    async def facts(self, materials: dict[str, dict[str, str]], already: int = 0) -> FileFacts:
        """The stored files the materials name, each one checked to exist; every unknown one is a problem of
        the application, named by its field; more than the case's limit in all (with the `already` bytes the
        case holds) is refused (413)."""
        named = {
            (department, name): reference
            for department, given in materials.items()
            for name, reference in given.items()
            if reference.startswith(FILE_REFERENCE)
        }
        wanted = {stored_file(r) or "" for r in named.values()}
        known: FileFacts = {}
        if wanted:  # most applications name no uploaded file: no query for them
            async with self.sessions() as session:
                rows = await session.execute(
                    select(MaterialRecord.sha256, MaterialRecord.size, MaterialRecord.media_type).where(
                        MaterialRecord.sha256.in_(wanted), MaterialRecord.removed_at.is_(None)
                    )
                )
                known = {sha256: (size, media_type) for sha256, size, media_type in rows}
        problems = [
            (f"materials.{department}.{name}", f"no uploaded file {reference} (upload it first: POST /api/v1/materials)")
            for (department, name), reference in named.items()
            if stored_file(reference) not in known
        ]
        if problems:
            raise ApplicationInvalid(problems)
        total = already + sum(size for size, _ in known.values())
        if total > self.case_limit:
            limit = self.case_limit
            raise UploadRefused(
                413, f"材料总量过大 the case's files come to {total} bytes, over the limit of {limit} bytes per case"
            )
        return known

    async def checked(self, application: Application) -> Application:
        """The application with the facts of the files it names."""
        return replace(application, files=await self.facts(application.materials))

    async def read(self, sha256: str, case: JointCase | None, reader: Principal) -> tuple[MaterialRecord, AsyncIterator[bytes]]:
        """The file's facts and bytes, if the reader may read it in this case: a department only its own
        part's files (every version), window staff and administrators any file of the case. The read is
        recorded before the first byte leaves."""
        if case is None or not SHA256.match(sha256) or not may_read(case, sha256, reader):
            raise NotReadable(sha256)
        async with self.sessions() as session, session.begin():
            record = await session.get(MaterialRecord, sha256)
            if record is None:
                raise NotReadable(sha256)
            if record.removed_at is not None:
                raise Removed(record.removed_at)
            _, chunks = await open_file(self.store, sha256)  # FileNotFoundError: nothing read, nothing recorded
            session.add(
                MaterialRead(
                    sha256=sha256,
                    case_id=case.case_id,
                    reader=reader.subject,
                    role=reader.role.value,
                    department=reader.department,
                    read_at=self.clock.now(),
                )
            )
        return record, chunks


def may_read(case: JointCase, sha256: str, reader: Principal) -> bool:
    if reader.center is not None and reader.center != case.center:
        return False
    if reader.role in (Role.WINDOW, Role.ADMIN):
        return any(f.sha256 == sha256 for p in case.parts for f in p.files)
    if reader.role is Role.DEPARTMENT:
        return any(f.sha256 == sha256 for p in case.parts if p.department == reader.department for f in p.files)
    return False
