"""Materials on the real system: the window uploads real files, each department's system fetches the files
of its own part with its own token and checks them against their hashes before it answers; a file
changed in the store is asked for again; a 200 MB file streams through intake in bounded memory."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.demo import PDF_HEAD, restaurant_case, upload_restaurant_files
from deploy.launcher import System
from shared.identity import Role
from tests.e2e.api import as_role, http, new_applicant, poll, reply_of, submit

pytestmark = pytest.mark.e2e
DEPARTMENTS = ("market", "fire", "tax")


def file_checks(system: System) -> dict[str, tuple[int, int]]:
    """Per department system: files it fetched and checked, files that failed the check."""
    figures = {d: httpx.get(f"{system.simulator_url(d)}/gov/v1/stats", timeout=5).json() for d in DEPARTMENTS}
    return {d: (f["files_checked"], f["files_failed"]) for d, f in figures.items()}


def test_each_department_fetches_and_checks_its_files_before_it_answers(system: System) -> None:
    before = file_checks(system)
    files = upload_restaurant_files(system.url("intake"), as_role(system, Role.WINDOW, "S-0107"))
    response = submit(system, restaurant_case(new_applicant(), materials=files))
    assert response.status_code == 201, response.text
    case_id, query_code = response.json()["case"]["case_id"], response.json()["case"]["query_code"]
    reply = reply_of(system, case_id)["reply"]
    assert reply["outcome"] == "approved"
    after = file_checks(system)
    assert {d: (after[d][0] - before[d][0], after[d][1] - before[d][1]) for d in DEPARTMENTS} == {
        "market": (2, 0),
        "fire": (2, 0),
        "tax": (1, 0),
    }
    # each department issued its licence as a file: the applicant fetches it at the gateway with the query code
    issued = {p["department"]: p["certificates"] for p in reply["parts"]}
    assert {d: [c["name"] for c in issued[d]] for d in DEPARTMENTS} == {
        "market": ["食品经营许可证"],
        "fire": ["消防安全检查合格证"],
        "tax": ["发票票种核定通知书"],
    }
    assert "电子证照「食品经营许可证」可凭查询码下载" in reply["message"]
    licence = issued["market"][0]
    url = f"{system.url('gateway')}/api/v1/cases/{case_id}/certificates/{licence['sha256']}"
    fetched = httpx.get(url, headers={"X-Query-Code": query_code}, timeout=10)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == licence["sha256"]
    assert fetched.content.startswith(PDF_HEAD)
    assert httpx.get(url, headers={"X-Query-Code": "WRONG234"}, timeout=10).status_code == 404
    assert httpx.get(url, timeout=10).status_code == 401


def test_a_file_changed_in_the_store_is_asked_for_again(system: System) -> None:
    files = upload_restaurant_files(system.url("intake"), as_role(system, Role.WINDOW, "S-0107"))
    rules = files["fire"]["场所消防安全制度"].removeprefix("sha256:")
    stored = system.workdir / "materials" / "objects" / rules[:2] / rules
    stored.write_bytes(stored.read_bytes() + b"% changed behind the center's back\n")
    response = submit(system, restaurant_case(new_applicant(), materials=files))
    case_id = response.json()["case"]["case_id"]
    url = f"{system.url('intake')}/api/v1/cases/{case_id}"
    case = poll(system, url, lambda body: body["case"]["state"] == "awaiting_supplement")["case"]
    fire = next(p for p in case["parts"] if p["department"] == "fire")
    assert [i["material"] for i in fire["supplement_items"]] == ["场所消防安全制度"]
    assert "校验值不符" in fire["supplement_items"][0]["reason"]


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


def test_a_200_mb_file_streams_through_intake_in_bounded_memory(system: System) -> None:
    intake = system.components["intake"].process
    assert intake is not None
    size, chunk = 200 * 1024 * 1024, b"\0" * (1024 * 1024)
    digest = hashlib.sha256(PDF_HEAD + chunk * 200)

    def body() -> Iterator[bytes]:
        yield PDF_HEAD
        for _ in range(200):
            yield chunk

    before = peak_rss(intake.pid)
    with http(system) as client:
        uploaded = client.post(f"{system.url('intake')}/api/v1/materials", content=body(), timeout=300)
    assert uploaded.status_code == 201, uploaded.text
    assert (uploaded.json()["size"], uploaded.json()["sha256"]) == (size + len(PDF_HEAD), digest.hexdigest())
    after = peak_rss(intake.pid)
    print(f"\nintake peak RSS {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after a 200 MiB upload")
    assert after - before < 64 * 2**20, f"the upload grew intake's peak memory by {(after - before) / 2**20:.0f} MiB"
