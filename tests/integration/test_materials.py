"""Materials are files: uploaded at the window (streamed, limited, typed by content, scanned), named by a
case, listed in each department's work order, read only by that department (and the window), each read
recorded; a supplement adds a version. On a directory and on a real S3-compatible server (S3Proxy)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from deploy.demo import sample_pdf, sample_png
from deploy.s3proxy_local import LocalS3Proxy
from services.intake.adapters.orm import SCHEMA, CaseRecord, MaterialRead, MaterialRecord
from services.intake.service_layer.retention import expire
from shared.contracts import CloudEvent, WorkOrder
from shared.identity import Role
from shared.materials import FilesystemStore, S3Store, UploadRules
from shared.messaging.outbox import OutboxRow
from shared.settings import MaterialsSettings
from tests.builders import materials_for
from tests.identity import bearer
from tests.integration.intake_http import client_of, filing, intake_app
from tests.servers import MakeSessions

Json = dict[str, Any]


def department(code: str) -> dict[str, str]:
    return bearer(Role.DEPARTMENT, f"{code}-01", department=code)


@pytest.fixture
async def intake(make_sessions: MakeSessions, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = await intake_app(await make_sessions(SCHEMA), tmp_path / "materials")
    async with client_of(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def upload(client: httpx.AsyncClient, content: bytes) -> Json:
    response = await client.post("/api/v1/materials", content=content)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def file_case(client: httpx.AsyncClient, files: dict[str, dict[str, str]]) -> Json:
    materials = materials_for("JM-REST-001")
    for code, named in files.items():
        materials[code] |= named
    response = await client.post("/api/v1/cases", json=filing(materials=materials))
    assert response.status_code == 201, response.text
    return dict(response.json()["case"])


async def act(client: httpx.AsyncClient, code: str, case_id: str, action: Json) -> httpx.Response:
    """A department's action on its part of the case, as its staff send it."""
    return await client.post(f"/api/v1/departments/{code}/work/{case_id}-{code}/actions", json={"action": action})


async def work_orders(client: httpx.AsyncClient) -> list[WorkOrder]:
    sessions = client.app.state.actions.sessions  # type: ignore[attr-defined]
    async with sessions() as session:
        rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        events = [CloudEvent.from_bytes(r.payload).payload() for r in rows]
    return [e for e in events if isinstance(e, WorkOrder)]


async def test_an_upload_is_stored_once_by_its_hash_with_the_type_its_content_says(intake: httpx.AsyncClient) -> None:
    plan = sample_pdf("经营场所平面图", padding=2_000_000)  # larger than any other request body may be (1 MiB)
    first = await upload(intake, plan)
    assert first == {
        "sha256": hashlib.sha256(plan).hexdigest(),
        "size": len(plan),
        "media_type": "application/pdf",
        "reference": f"sha256:{hashlib.sha256(plan).hexdigest()}",
    }
    assert await upload(intake, plan) == first  # the same file twice: one stored file
    assert (await upload(intake, sample_png()))["media_type"] == "image/png"


async def test_limits_and_types_are_stated_and_enforced(make_sessions: MakeSessions, tmp_path: Path) -> None:
    rules = UploadRules(max_bytes=100_000, scan_command="sh -c 'if grep -q EICAR {path}; then echo FOUND; exit 1; fi'")
    app = await intake_app(await make_sessions(SCHEMA), tmp_path / "materials", rules=rules, case_limit=150_000)
    async with client_of(app) as client:
        too_large = await client.post("/api/v1/materials", content=sample_pdf("big", padding=200_000))
        assert too_large.status_code == 413
        assert "100000 bytes per file" in too_large.json()["detail"]
        renamed = await client.post(
            "/api/v1/materials", content=b"MZ\x90\x00 a program", headers={"Content-Type": "application/pdf"}
        )
        assert renamed.status_code == 415  # the content is checked, not what the client calls it
        assert "PDF、JPEG、PNG、TIFF" in renamed.json()["detail"]
        infected = await client.post("/api/v1/materials", content=sample_pdf("X5O!P%@AP EICAR-STANDARD-ANTIVIRUS-TEST"))
        assert infected.status_code == 422
        assert "病毒扫描未通过" in infected.json()["detail"]
        assert "FOUND" in infected.json()["detail"]
        assert list((tmp_path / "materials" / "staging").iterdir()) == []  # nothing refused is kept

        a, b = [await upload(client, sample_pdf(n, padding=80_000)) for n in ("a", "b")]
        both = {"fire": {"消防安全检查申请表": a["reference"], "场所消防安全制度": b["reference"]}}
        over = await client.post("/api/v1/cases", json=filing(materials=materials_for("JM-REST-001") | both))
        assert over.status_code == 413
        assert "150000 bytes per case" in over.json()["detail"]


async def test_a_case_naming_a_file_never_uploaded_is_refused_field_by_field(intake: httpx.AsyncClient) -> None:
    unknown = "sha256:" + "0" * 64
    named = materials_for("JM-REST-001") | {"tax": {"财务负责人信息": unknown}}
    response = await intake.post("/api/v1/cases", json=filing(materials=named))
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "materials", "tax", "财务负责人信息"]
    assert "upload it first" in problem["msg"]


async def test_each_department_reads_only_its_own_parts_files_and_every_read_is_recorded(intake: httpx.AsyncClient) -> None:
    plan, rules = sample_pdf("平面图"), sample_pdf("消防安全制度")
    plan_ref, rules_ref = (await upload(intake, plan))["reference"], (await upload(intake, rules))["reference"]
    case = await file_case(intake, {"market": {"经营场所平面图": plan_ref}, "fire": {"场所消防安全制度": rules_ref}})
    case_id = case["case_id"]

    fire_order = next(w for w in await work_orders(intake) if w.department == "fire")
    [listed] = fire_order.material_files
    assert (listed.name, listed.version, listed.size, listed.media_type) == ("场所消防安全制度", 1, len(rules), "application/pdf")
    assert listed.url == f"/api/v1/materials/{listed.sha256}?case_id={case_id}"

    fetched = await intake.get(listed.url, headers=department("fire"))
    assert fetched.status_code == 200
    assert fetched.content == rules
    assert hashlib.sha256(fetched.content).hexdigest() == listed.sha256 == fetched.headers["X-Content-SHA256"]
    assert fetched.headers["content-type"] == "application/pdf"
    assert (await intake.get(listed.url, headers=department("tax"))).status_code == 404  # another department's file
    elsewhere = f"/api/v1/materials/{listed.sha256}?case_id=LBNOBODY"
    assert (await intake.get(elsewhere, headers=department("fire"))).status_code == 404
    assert (await intake.get(listed.url)).status_code == 200  # the window that took it

    sessions = intake.app.state.actions.sessions  # type: ignore[attr-defined]
    async with sessions() as session:
        reads = [(r.reader, r.role, r.department) for r in await session.scalars(select(MaterialRead).order_by(MaterialRead.id))]
    assert reads == [("fire-01", "department", "fire"), ("S-0107", "window", None)]  # refused reads read nothing


async def test_a_supplement_adds_a_version_and_the_first_stays_readable(intake: httpx.AsyncClient) -> None:
    first, second = sample_pdf("制度 v1"), sample_pdf("制度 v2，含疏散预案")
    first_ref = (await upload(intake, first))["reference"]
    case_id = (await file_case(intake, {"fire": {"场所消防安全制度": first_ref}}))["case_id"]
    missing = {"kind": "supplement", "items": [{"material": "场所消防安全制度", "reason": "缺少疏散预案章节"}]}
    asked = await act(intake, "fire", case_id, missing)
    assert asked.status_code == 200, asked.text
    for code in ("market", "tax"):
        accepted = await act(intake, code, case_id, {"kind": "accept"})
        assert accepted.status_code == 200, accepted.text
    second_ref = (await upload(intake, second))["reference"]
    brought = await intake.post(
        f"/api/v1/cases/{case_id}/supplement", json={"materials": {"fire": {"场所消防安全制度": second_ref}}}
    )
    assert brought.status_code == 200, brought.text

    again = [w for w in await work_orders(intake) if w.department == "fire"][-1]
    assert again.round == 2
    assert [(f.name, f.version, f.sha256) for f in again.material_files] == [
        ("场所消防安全制度", 1, hashlib.sha256(first).hexdigest()),
        ("场所消防安全制度", 2, hashlib.sha256(second).hexdigest()),
    ]
    assert again.materials["场所消防安全制度"] == second_ref
    for listed, content in zip(again.material_files, (first, second), strict=True):
        assert (await intake.get(listed.url, headers=department("fire"))).content == content


@pytest.fixture(scope="module")
def s3proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MaterialsSettings]:
    server = LocalS3Proxy(workdir=tmp_path_factory.mktemp("s3proxy"))
    access = server.start()
    try:
        yield MaterialsSettings(
            backend="s3",
            s3_endpoint=access.endpoint,
            s3_access_key=access.access_key,
            s3_secret_key=access.secret_key,
            s3_bucket="materials-test",
        )
    finally:
        server.stop()


async def test_on_an_s3_compatible_store_a_department_reads_what_the_window_uploaded(
    make_sessions: MakeSessions, tmp_path: Path, s3proxy: MaterialsSettings
) -> None:
    store = S3Store(s3proxy, tmp_path / "staging")
    app = await intake_app(await make_sessions(SCHEMA), tmp_path, store=store)
    try:
        async with client_of(app) as client:
            plan = sample_pdf("平面图", padding=3_000_000)
            uploaded = await upload(client, plan)
            assert await store.has(uploaded["sha256"])
            case_id = (await file_case(client, {"market": {"经营场所平面图": uploaded["reference"]}}))["case_id"]
            fetched = await client.get(f"/api/v1/materials/{uploaded['sha256']}?case_id={case_id}", headers=department("market"))
            assert fetched.status_code == 200
            assert fetched.content == plan
            assert list((tmp_path / "staging").iterdir()) == []
    finally:
        await store.stop()


async def test_an_approval_carries_the_certificates_the_department_uploaded_and_no_other(intake: httpx.AsyncClient) -> None:
    case_id = (await file_case(intake, {}))["case_id"]
    for code in ("market", "fire", "tax"):
        accepted = await act(intake, code, case_id, {"kind": "accept"})
        assert accepted.status_code == 200, accepted.text
    licence = sample_pdf("食品经营许可证 JY13301000000001")
    uploaded = await intake.post("/api/v1/materials", content=licence, headers=department("market"))
    assert uploaded.status_code == 201, uploaded.text
    never = {"name": "假证照", "sha256": "f" * 64}
    approve = {"kind": "approve", "document_number": "JY13301000000001", "certificates": [never]}
    refused = await act(intake, "market", case_id, approve)
    assert refused.status_code == 409
    assert "证照文件未上传：假证照" in refused.json()["detail"]["reason"]
    approve["certificates"] = [{"name": "食品经营许可证", "sha256": uploaded.json()["sha256"]}]
    approved = await act(intake, "market", case_id, approve)
    assert approved.status_code == 200, approved.text
    case = (await intake.get(f"/api/v1/cases/{case_id}")).json()["case"]
    market = next(p for p in case["parts"] if p["department"] == "market")
    assert market["decision"]["certificates"] == approve["certificates"]


async def test_files_past_their_retention_are_removed_while_their_record_and_reads_stay(
    intake: httpx.AsyncClient, tmp_path: Path
) -> None:
    shared, closed_only, orphan = [(await upload(intake, sample_pdf(n)))["reference"] for n in ("共用", "已结", "无人引用")]
    closed = (await file_case(intake, {"market": {"经营场所平面图": shared}, "fire": {"场所消防安全制度": closed_only}}))[
        "case_id"
    ]
    await file_case(intake, {"market": {"经营场所平面图": shared}})  # still open: what it names stays
    sha = closed_only.removeprefix("sha256:")
    assert (await intake.get(f"/api/v1/materials/{sha}?case_id={closed}", headers=department("fire"))).status_code == 200
    sessions = intake.app.state.actions.sessions  # type: ignore[attr-defined]
    concluded_at = datetime.now(UTC)
    async with sessions() as session, session.begin():
        record = await session.get(CaseRecord, closed)
        assert record is not None
        record.document = record.document | {"state": "concluded", "concluded_at": concluded_at.isoformat()}

    store = FilesystemStore(tmp_path / "materials")
    later = concluded_at + timedelta(days=3651)  # the retention period after the conclusion, and a day
    removed = await expire(sessions, store, timedelta(days=3650), later)
    assert removed.files == 2  # the closed case's own file, and the upload no case ever named
    assert {s for s in (shared, closed_only, orphan) if await store.has(s.removeprefix("sha256:"))} == {shared}
    gone = await intake.get(f"/api/v1/materials/{sha}?case_id={closed}", headers=department("fire"))
    assert gone.status_code == 410
    assert "已超过保存期限" in gone.json()["detail"]
    async with sessions() as session:
        kept = await session.get(MaterialRecord, sha)
        reads = list(await session.scalars(select(MaterialRead).where(MaterialRead.sha256 == sha)))
    assert kept is not None
    assert kept.removed_at == later
    assert [r.reader for r in reads] == ["fire-01"]  # who read it stays on file
    assert (await expire(sessions, store, timedelta(days=3650), later)).files == 0  # once is enough
