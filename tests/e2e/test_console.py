"""The operators' console in a real browser (Debian's chromium driven by Playwright) against a whole system
on Kafka: a supervisor logs in at the center's identity provider, the overview counts the cases filed here,
a case filed during the test reaches the live screen, the chart of a suspended part shows the suspension,
a poisoned message is listed under dead letters and a redrive brings a held case to its one reply, and an
operator without the supervisor role cannot redrive. Each page is saved as a screenshot under
`test-artifacts/console/` (LIANBAN_TEST_ARTIFACTS).

The dead letter redriven here is made as intake's consumer makes one (`DeadLetters.letter`, `DeadLetter.of`) around the tax
department's genuine signed decision, because no real fault of this system would fail on a good decision
and then pass: what this suite checks is what the operator does with it. How consumers dead-letter is the
poison suite's subject; the malformed message below is dead-lettered by intake itself."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from deploy.kafka_acls import ADMIN
from deploy.kafka_local import KafkaAccess
from deploy.launcher import System
from shared.contracts import Approve, CloudEvent, DeadLetter, DepartmentActed
from shared.identity import Role
from shared.signing import Signer
from tests.e2e.api import act, department_rule, http, new_applicant, poll, reply_of, submit_restaurant
from tests.e2e.kafka_tools import TopicReader
from tests.e2e.systems import running

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("LIANBAN_CHROMIUM", "/usr/bin/chromium")  # Debian's; never `playwright install`
T = TypeVar("T")
ARTIFACTS = Path(os.environ.get("LIANBAN_TEST_ARTIFACTS", "test-artifacts")) / "console"


@pytest.fixture(scope="module")
def center(kafka: KafkaAccess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A center of its own, so that the overview's counts are this module's cases."""
    yield from running(kafka, f"ui{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("console"), None)


@pytest.fixture(scope="module")
def cases(center: System) -> dict[str, str]:
    """Two cases answered; one whose fire part is suspended by the fire staff; one whose tax system is silent."""
    done = [submit_restaurant(center, new_applicant()) for _ in range(2)]
    suspended_applicant, held_applicant = new_applicant(), new_applicant()
    department_rule(center, "fire", suspended_applicant, decision="silent")
    department_rule(center, "tax", held_applicant, decision="silent")
    suspended, held = submit_restaurant(center, suspended_applicant), submit_restaurant(center, held_applicant)
    for case_id in done:
        reply_of(center, case_id)
    for case_id in (suspended, held):
        handling(center, case_id)
    suspension = {"kind": "suspend", "suspension_kind": "inspection_testing", "applicant_notified_on": date.today().isoformat()}
    response = act(center, "fire", f"{suspended}-fire", suspension)
    assert response.status_code == 200, response.text
    supervised(center, suspended, lambda body: any(p["state"] == "suspended" for p in body["parts"]))
    return {"done": done[0], "suspended": suspended, "held": held}


def handling(system: System, case_id: str) -> None:
    """Until every department's handling clock runs (the case accepted)."""
    supervised(system, case_id, lambda body: body["accepted_at"] is not None)


def supervised(system: System, case_id: str, until: Any) -> Any:
    return poll(system, f"{system.url('supervision')}/api/v1/supervision/cases/{case_id}", until)


@pytest.fixture(scope="module")
def browser(cases: dict[str, str]) -> Iterator[Browser]:
    """Chromium as Debian installs it: a missing browser fails the suite, it never skips. Started after the
    system and its cases: Playwright's synchronous API keeps an event loop running in this thread, so what
    runs asyncio itself (the launcher, the topic reader) runs before it or on another thread (`aside`)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def aside(work: Callable[[], T]) -> T:
    """Work that runs its own event loop, on a thread of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def logged_in(browser: Browser, system: System, role: Role, username: str) -> Page:
    """A fresh browser session that logs in at the center's (development) identity provider."""
    page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{system.url('supervision')}/console/#/overview")
    page.wait_for_url(f"{system.auth_issuer}/authorize**")
    page.fill("#username", username)
    page.select_option("#role", role.value)
    page.click("#login")
    page.wait_for_url(f"{system.url('supervision')}/console/**")
    page.wait_for_selector("#nav a[data-page]")
    page.errors = errors  # type: ignore[attr-defined]  # read by the tests: no script may fail
    return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def supervisor(browser: Browser, center: System, cases: dict[str, str]) -> Iterator[Page]:
    page = logged_in(browser, center, Role.SUPERVISOR, "SV-01")
    yield page
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()


def test_the_overview_shows_the_cases_of_the_center(supervisor: Page, center: System) -> None:
    supervisor.goto(f"{center.url('supervision')}/console/#/overview")
    counts = {state: supervisor.locator(f"[data-count={state}]") for state in ("handling", "concluded", "not_accepted")}
    for state, expected in (("concluded", "2"), ("handling", "2"), ("not_accepted", "0")):
        supervisor.wait_for_function(
            "([state, expected]) => document.querySelector(`[data-count=${state}]`)?.textContent.trim() === expected",
            arg=[state, expected],
        )
        assert counts[state].inner_text().strip() == expected
    ranking = supervisor.locator("#ranking")
    for name in ("市场监督管理局", "税务局", "消防救援支队"):
        assert name in ranking.inner_text()
    supervisor.wait_for_timeout(800)  # the charts' entry animation
    shot(supervisor, "overview")


def test_a_case_filed_now_appears_on_the_live_screen(supervisor: Page, center: System) -> None:
    supervisor.goto(f"{center.url('supervision')}/console/#/live")
    supervisor.wait_for_function("() => /数据时效 \\d+ 秒/.test(document.querySelector('#freshness')?.textContent)")
    filed = time.monotonic()
    case_id = submit_restaurant(center, new_applicant())
    filing = supervisor.locator(f".live-entry[data-case-id='{case_id}']", has_text="申请登记")
    filing.wait_for(timeout=10_000)  # the filing's own entry: the departments' steps may be on screen above it already
    latency = time.monotonic() - filed
    print(f"live screen: case {case_id} on screen {latency:.2f} s after intake answered the filing")
    (ARTIFACTS / "live-latency.txt").parent.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "live-latency.txt").write_text(f"{latency:.3f}\n")
    assert filing.count() == 1
    shot(supervisor, "live")


def test_the_chart_of_a_suspended_part_shows_the_suspension(supervisor: Page, center: System, cases: dict[str, str]) -> None:
    supervisor.goto(f"{center.url('supervision')}/console/#/cases/{cases['suspended']}")
    fire = supervisor.locator(".part-row[data-department=fire]")
    fire.wait_for()
    assert fire.get_attribute("data-state") == "suspended"
    assert "中止计时" in fire.inner_text()
    assert fire.locator(".suspension").count() == 1
    assert "至今" in fire.locator(".suspension").inner_text()  # still suspended
    assert supervisor.locator(".part-row").count() == 3
    supervisor.wait_for_timeout(800)
    shot(supervisor, "case-gantt")


def test_savings_departments_and_complaints_pages_show_the_centers_figures(
    supervisor: Page, center: System, cases: dict[str, str]
) -> None:
    supervisor.goto(f"{center.url('supervision')}/console/#/savings")
    supervisor.wait_for_function("() => Number(document.querySelector('[data-savings=cases]')?.textContent) >= 2")
    shot(supervisor, "savings")

    supervisor.goto(f"{center.url('supervision')}/console/#/departments")
    tax = supervisor.locator(".department-row[data-department=tax]")
    tax.wait_for()
    assert "税务局" in tax.inner_text()
    shot(supervisor, "departments")

    supervisor.goto(f"{center.url('supervision')}/console/#/complaints")
    supervisor.fill("#complaint-form [name=case_id]", cases["suspended"])
    supervisor.select_option("#complaint-form [name=department]", "fire")
    supervisor.fill("#complaint-form [name=content]", "消防检测迟迟没有结果")
    supervisor.click("#complaint-form [type=submit]")
    row = supervisor.locator("tr.complaint", has_text="消防检测迟迟没有结果")
    row.wait_for()
    assert "消防救援支队" in row.inner_text()
    shot(supervisor, "complaints")


def held_decision(system: System, case_id: str) -> bytes:
    """The tax department's approval of its part, signed with its key, as its adapter would have sent it."""
    decided = DepartmentActed(
        case_id=case_id,
        work_order_id=f"{case_id}-tax",
        department="tax",
        staff_id="TAX-STAFF-07",
        acted_at=datetime.now(UTC),
        action=Approve(document_number="税许字〔2026〕第 0457 号"),
    )
    signer = Signer.load(system.workdir / "keys" / "tax.pem", "tax-1")
    return signer.sign(CloudEvent.wrap(decided, source=f"/lianban/{system.center}/adapter-tax", subject=case_id).to_bytes())


def test_a_poisoned_message_is_listed_and_a_redrive_brings_the_held_case_to_its_reply(
    supervisor: Page, center: System, cases: dict[str, str]
) -> None:
    topics, held = center.topics, cases["held"]
    reader = TopicReader(center.kafka.settings(ADMIN))
    aside(lambda: reader.produce(topics.actions("tax"), b'{"specversion": "1.0", broken', key=b"LBPOISONUI"))
    decision = held_decision(center, held)
    letter = DeadLetter.of(  # as intake's consumer writes one (DeadLetters.letter)
        consumer=f"lianban-{center.center}-intake",
        error="OperationalError: database is locked (模拟的故障)",
        topic=topics.actions("tax"),
        partition=0,
        offset=0,
        key=held,
        original=decision,
        department="tax",
    )
    wrapped = CloudEvent.wrap(letter, source="/test", subject=held).to_bytes()
    aside(lambda: reader.produce(topics.dead_letters, wrapped, key=held.encode()))

    supervisor.goto(f"{center.url('supervision')}/console/#/dead-letters")
    poisoned = supervisor.locator("tr.dead-letter", has_text="malformed message")
    held_row = supervisor.locator("tr.dead-letter", has_text="模拟的故障")
    for row in (poisoned, held_row):
        deadline = time.monotonic() + 30
        while row.count() == 0 and time.monotonic() < deadline:
            supervisor.click("#dead-letter-refresh")
            supervisor.wait_for_timeout(500)
        assert row.count() == 1
    assert topics.actions("tax") in poisoned.inner_text()
    shot(supervisor, "dead-letters")

    held_row.locator("input.select").check()
    supervisor.fill("#act-reason", "数据库已恢复，重新投递")
    supervisor.click("#redrive")
    supervisor.wait_for_selector("#dead-letter-message:not([hidden])")
    assert "1" in supervisor.inner_text("#dead-letter-message")
    reply = reply_of(center, held, timeout=60)["reply"]
    assert reply["outcome"] == "approved"
    assert "0457" in json.dumps(reply, ensure_ascii=False)

    supervisor.select_option("#dead-letter-status", "redriven")
    supervisor.click("#dead-letter-refresh")
    supervisor.locator("tr.dead-letter", has_text="模拟的故障").wait_for()
    assert "SV-01" in supervisor.locator("tr.dead-letter", has_text="模拟的故障").inner_text()
    shot(supervisor, "dead-letters-redriven")
    with http(center) as client:
        timeline = client.get(f"{center.url('supervision')}/api/v1/supervision/cases/{held}").json()["timeline"]
    assert "cn.lianban.supervision.dead_letter_redriven" in [e["event_type"] for e in timeline]


def test_an_operator_sees_the_dead_letters_but_cannot_redrive(browser: Browser, center: System) -> None:
    page = logged_in(browser, center, Role.OPERATOR, "OP-01")
    page.goto(f"{center.url('supervision')}/console/#/dead-letters")
    page.select_option("#dead-letter-status", "all")
    page.click("#dead-letter-refresh")
    page.locator("tr.dead-letter").first.wait_for()
    assert page.locator("#redrive").is_disabled()
    letter_id = page.locator("tr.dead-letter").first.get_attribute("data-id")
    status = page.evaluate(  # the server is the guard, whatever the page shows
        """async (id) => (await fetch('/api/v1/supervision/dead-letters/redrive', {method: 'POST',
             headers: {'Content-Type': 'application/json',
                       Authorization: 'Bearer ' + JSON.parse(sessionStorage.getItem('lianban.console.token')).access_token},
             body: JSON.stringify({ids: [id]})})).status""",
        letter_id,
    )
    assert status == 403
    shot(page, "dead-letters-operator")
    assert page.errors == []  # type: ignore[attr-defined]
    page.close()
