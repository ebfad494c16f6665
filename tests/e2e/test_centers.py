"""Three centers, each as it runs in production: a city (杭州), one of its districts (西湖区) and a town point of that
district (转塘街道), each its own secured Kafka cluster, services, departments and identity provider, joined by
MirrorMaker 2 (deploy/centers_local.py). A district case whose planning part the city decides (初审转报) gets one
reply at the district; the link cut mid-case and restored loses nothing and doubles nothing; a record the
district's key did not sign is refused at the city and shown to its operators; the district follows the part
at the city and urges it there; the city rolls up its districts' figures; the town files for an applicant
and hands over the reply."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAuthorizationFailedError

from deploy.centers_local import DEMO_CENTERS, LocalCenters
from deploy.demo import district_case, wait_for_reply
from deploy.kafka_acls import ADMIN, exchange_mirror_topics, exchange_principal
from deploy.kafka_local import KafkaAccess
from deploy.launcher import System
from shared.contracts import CloudEvent
from shared.identity import Role
from shared.signing import Signer, new_key_pair
from shared.topics import Topics
from shared.workdays import CHINA, WorkingCalendar
from tests.e2e.api import as_role, department_rule, new_applicant, poll, reply_of
from tests.e2e.diagnosis import FAILED, report
from tests.e2e.kafka_tools import TopicReader, producer
from tests.e2e.systems import TEST_SETTINGS, free_ports

pytestmark = pytest.mark.e2e

UP = Topics("xihu").exchange("hangzhou")


CALENDAR = WorkingCalendar()
CITY_HOLIDAY = CALENDAR.add_working_days(datetime.now(CHINA).date(), 3)  # a working day the city alone takes off


@pytest.fixture(scope="module")
def centers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCenters]:
    workdir = tmp_path_factory.mktemp("centers")
    city_calendar = workdir / "hangzhou-calendar.json"
    city_calendar.write_text(json.dumps({"years": {}, "local": {"holidays": [CITY_HOLIDAY.isoformat()], "workdays": []}}))
    started = LocalCenters(
        workdir,
        departments={**DEMO_CENTERS, "zhuantang": ()},  # and a town point of the district, with no department
        calendars={"hangzhou": city_calendar},  # two centers, two calendars
        ports=lambda _n, departments: free_ports(len(departments)),
        env={k: v for k, v in TEST_SETTINGS.items() if "CLOCK" not in k} | {"LIANBAN_SUPERVISION_FIGURES_SECONDS": "1"},
    )
    began = time.monotonic()
    try:
        started.start()
        print(f"\nthree centers (three clusters and systems, two MirrorMaker 2 links) ready in {time.monotonic() - began:.0f}s")
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def diagnosis(request: pytest.FixtureRequest, centers: LocalCenters) -> Iterator[None]:
    """A failed test prints where each center's work stands (tests/e2e/diagnosis.py)."""
    yield
    if request.node.stash.get(FAILED, False):
        links = {f"link {child}-{parent}": link for (child, parent), link in centers.links.items()}
        print(f"\n--- where the centers stand ---\n{report(centers.systems, links)}")


def file_district_case(xihu: System) -> str:
    response = httpx.post(
        f"{xihu.url('intake')}/api/v1/cases",
        json=district_case(new_applicant()),
        headers=as_role(xihu, Role.WINDOW, "S-0107"),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["case"]["case_id"])


def at_city(city: System, case_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The case as the city's intake holds it, once the transfer has reached it."""
    deadline = time.monotonic() + timeout
    headers = as_role(city, Role.WINDOW, "S-0001")
    while time.monotonic() < deadline:
        response = httpx.get(f"{city.url('intake')}/api/v1/cases/{case_id}", headers=headers, timeout=5)
        if response.status_code == 200:
            return dict(response.json()["case"])
        time.sleep(0.05)
    raise AssertionError(f"{case_id} did not reach the city in {timeout}s")


def part_state(system: System, case_id: str, department: str) -> str | None:
    response = httpx.get(
        f"{system.url('intake')}/api/v1/cases/{case_id}", headers=as_role(system, Role.WINDOW, "S-0107"), timeout=5
    )
    if response.status_code != 200:
        return None
    return str(next(p["state"] for p in response.json()["case"]["parts"] if p["department"] == department))


def test_a_district_case_whose_planning_part_the_city_decides_gets_one_reply_at_the_district(centers: LocalCenters) -> None:
    xihu, hangzhou = centers.systems["xihu"], centers.systems["hangzhou"]
    began = time.monotonic()
    case_id = file_district_case(xihu)
    city = at_city(hangzhou, case_id)
    reached = time.monotonic() - began
    assert city["matter_code"] == "PLN-LICENCE"
    assert "西湖区行政服务中心转报" in city["matter_name"]
    assert city["state"] == "handling"
    (part,) = city["parts"]
    assert part["department"] == "planning"

    reply = reply_of(xihu, case_id)["reply"]
    replied = time.monotonic() - began
    assert reply["outcome"] == "approved"
    planning = next(p for p in reply["parts"] if p["department"] == "planning")
    assert planning["document_number"].startswith("PLANNING-")  # issued by the city's planning system
    assert (
        "建设工程规划许可证核发（初审转报）（自然资源和规划局（规划）），由杭州市民中心（市行政服务中心）决定：准予"
        in reply["message"]
    )
    city_reply = reply_of(hangzhou, case_id)["reply"]
    assert city_reply["parts"][0]["document_number"] == planning["document_number"], "the city's decision, as decided"
    print(f"\ndistrict filing -> city work order {reached:.2f}s; -> the district's one reply {replied:.2f}s")


def test_exchange_latency_and_throughput(centers: LocalCenters) -> None:
    """Figures for the note (printed, not asserted), from the services' own timestamps: twenty cases filed at
    once at the district; how long from the district's filing, and from its transfer, to the city's work
    order, and how many cases a second the two centers carry."""
    xihu, hangzhou = centers.systems["xihu"], centers.systems["hangzhou"]
    with ThreadPoolExecutor(8) as pool:
        cases = list(pool.map(lambda _: file_district_case(xihu), range(20)))
        replies = list(pool.map(lambda c: reply_of(xihu, c, 180), cases))
    assert all(r["reply"]["outcome"] == "approved" for r in replies)
    window = as_role(xihu, Role.WINDOW, "S-0107")
    from_filing, from_transfer, filed, replied = [], [], [], []
    for case_id, reply in zip(cases, replies, strict=True):
        district = httpx.get(f"{xihu.url('intake')}/api/v1/cases/{case_id}", headers=window, timeout=5).json()["case"]
        city = at_city(hangzhou, case_id)
        at_city_at = datetime.fromisoformat(city["submitted_at"])
        planning = next(p for p in district["parts"] if p["department"] == "planning")
        filed.append(datetime.fromisoformat(district["submitted_at"]))
        replied.append(datetime.fromisoformat(reply["reply"]["replied_at"]))
        from_filing.append((at_city_at - filed[-1]).total_seconds())
        from_transfer.append((at_city_at - datetime.fromisoformat(planning["transferred_at"])).total_seconds())
    took = (max(replied) - min(filed)).total_seconds()
    print(
        f"\n20 district cases at once: district filing -> city work order p50 {statistics.median(from_filing):.2f}s "
        f"max {max(from_filing):.2f}s; transfer -> city work order (outbox, MirrorMaker 2, the city's intake) "
        f"p50 {statistics.median(from_transfer):.2f}s max {max(from_transfer):.2f}s; first filing to last reply at the "
        f"district {took:.1f}s ({20 / took:.1f} cases/s)"
    )


def test_the_link_cut_mid_case_and_restored_loses_nothing_and_doubles_nothing(centers: LocalCenters) -> None:
    xihu, hangzhou = centers.systems["xihu"], centers.systems["hangzhou"]
    link = centers.links[("xihu", "hangzhou")]
    link.kill()  # as a crash would, mid-stream
    try:
        cases = [file_district_case(xihu) for _ in range(3)]
        deadline = time.monotonic() + 60
        while any(part_state(xihu, c, "planning") != "transferred" for c in cases):
            assert time.monotonic() < deadline, "the district's planning parts were not transferred"
            time.sleep(0.2)
        time.sleep(2)
        headers = as_role(hangzhou, Role.WINDOW, "S-0001")
        for case_id in cases:
            gone = httpx.get(f"{hangzhou.url('intake')}/api/v1/cases/{case_id}", headers=headers, timeout=5)
            assert gone.status_code == 404, "nothing crosses while the link is down"
    finally:
        link.start()
    for case_id in cases:
        assert reply_of(xihu, case_id, 120)["reply"]["outcome"] == "approved"
    planning_recorded = ("cn.lianban.part.action_recorded.v1", "planning")
    for case_id in cases:  # supervision's view follows the reply within a second (it takes its events in batches)
        timeline = poll(
            xihu,
            f"{xihu.url('supervision')}/api/v1/supervision/cases/{case_id}",
            lambda body: sum((e["event_type"], e["department"]) == planning_recorded for e in body["timeline"]) >= 3,
        )
        kinds = [(e["event_type"], e["department"]) for e in timeline["timeline"]]
        recorded = [k for k in kinds if k == planning_recorded]
        assert len(recorded) == 3, f"accept, transfer and the city's decision, each once: {kinds}"
        assert not [k for k in kinds if k[0] == "cn.lianban.action.refused.v1"], "no decision came twice"


def test_a_record_the_district_did_not_sign_is_refused_at_the_city_and_shown_to_its_operators(
    centers: LocalCenters, tmp_path: Path
) -> None:
    xihu, hangzhou = centers.systems["xihu"], centers.systems["hangzhou"]
    case_id = file_district_case(xihu)
    reply_of(xihu, case_id)
    operator = TopicReader(centers.kafkas["xihu"].access.settings(ADMIN))
    (genuine,) = [v for v in operator.raw(UP, lambda vs: any(case_id.encode() in v for v in vs)) if case_id.encode() in v]
    district = TopicReader(centers.kafkas["xihu"].access.settings("intake"))  # the district's intake may write it
    record = CloudEvent.from_bytes(genuine).payload().model_copy(update={"serial": f"{case_id}X", "stage_id": f"{case_id}X-p"})
    wrong_key, _ = new_key_pair(tmp_path, "impostor")
    event = CloudEvent.wrap(record, source="/lianban/xihu/intake", subject=f"{case_id}X")
    district.produce(UP, Signer.load(wrong_key, "xihu-1").sign(event.to_bytes()), key=b"forged")

    supervisor = as_role(hangzhou, Role.SUPERVISOR, "SV-01")
    deadline, letters = time.monotonic() + 60, list[dict[str, Any]]()
    while time.monotonic() < deadline and not letters:
        listed = httpx.get(f"{hangzhou.url('supervision')}/api/v1/supervision/dead-letters", headers=supervisor, timeout=5)
        letters = [d for d in listed.json() if f"{case_id}X" in d["error"]]
        time.sleep(0.3)
    assert letters, "the forged record is kept for the city's operators"
    assert "签名无效" in letters[0]["error"]
    assert letters[0]["topic"] == UP
    gone = httpx.get(f"{hangzhou.url('intake')}/api/v1/cases/{case_id}X", headers=as_role(hangzhou, Role.WINDOW), timeout=5)
    assert gone.status_code == 404


def test_the_city_shows_its_districts_figures_beside_its_own_and_a_district_no_siblings(centers: LocalCenters) -> None:
    """汇总 fed by the exchange: the district's supervision sends its figures every second here."""
    xihu, hangzhou = centers.systems["xihu"], centers.systems["hangzhou"]
    file_district_case(xihu)
    supervisor = as_role(hangzhou, Role.SUPERVISOR, "SV-01")
    deadline, rows = time.monotonic() + 30, list[dict[str, Any]]()
    while time.monotonic() < deadline:
        rows = httpx.get(f"{hangzhou.url('supervision')}/api/v1/supervision/centers", headers=supervisor, timeout=5).json()
        district = next(r for r in rows if r["center"] == "xihu")
        if district["figures"] and district["figures"]["received"] >= 1:
            break
        time.sleep(0.3)
    by_center = {r["center"]: r for r in rows}
    assert set(by_center) == {"hangzhou", "xihu", "gongshu"}
    assert by_center["xihu"]["figures"]["received"] >= 1
    assert by_center["xihu"]["name"] == "西湖区行政服务中心"
    assert by_center["gongshu"]["figures"] is None  # started nowhere here: it never reported
    assert by_center["hangzhou"]["figures"]["received"] >= 1  # the cases the district transferred up
    own = httpx.get(
        f"{xihu.url('supervision')}/api/v1/supervision/centers", headers=as_role(xihu, Role.SUPERVISOR, "SV-01"), timeout=5
    ).json()
    assert {r["center"] for r in own} == {"xihu", "zhuantang"}, "a district sees itself and its towns, no sibling"
    assert next(r for r in own if r["center"] == "zhuantang")["level"] == "town"


def test_the_district_sees_the_part_at_the_city_and_its_urge_reaches_the_city_department(centers: LocalCenters) -> None:
    """The city's deadline and urgings come home; the district's urge crosses to the city's department."""
    xihu, hangzhou = centers.systems["xihu"], centers.systems["hangzhou"]
    applicant = new_applicant()
    department_rule(hangzhou, "planning", applicant, decision="silent")  # the city's planning bureau takes its time
    response = httpx.post(
        f"{xihu.url('intake')}/api/v1/cases",
        json=district_case(applicant),
        headers=as_role(xihu, Role.WINDOW, "S-0107"),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    case_id = response.json()["case"]["case_id"]
    at_city(hangzhou, case_id)
    supervisor = as_role(xihu, Role.SUPERVISOR, "SV-01")
    deadline, away = time.monotonic() + 30, None
    while time.monotonic() < deadline and away is None:
        view = httpx.get(f"{xihu.url('supervision')}/api/v1/supervision/cases/{case_id}", headers=supervisor, timeout=5)
        away = (
            next((p["away"] for p in view.json()["parts"] if p["department"] == "planning"), None)
            if view.status_code == 200
            else None
        )
        time.sleep(0.3)
    assert away is not None, "the part's status at the city came home"
    assert away["center"] == "hangzhou"
    assert away["center_name"] == "杭州市民中心（市行政服务中心）"
    assert away["deadline"] is not None
    assert away["state"] == "running"
    district_deadline = datetime.fromisoformat(next(p["deadline"] for p in view.json()["parts"] if p["department"] == "planning"))
    city_deadline = datetime.fromisoformat(away["deadline"])
    assert city_deadline.astimezone(CHINA).date() == CALENDAR.add_working_days(district_deadline.astimezone(CHINA).date(), 1), (
        f"the city counts the same 20 days by its own calendar, without {CITY_HOLIDAY}: a working day later"
    )

    urged = httpx.post(
        f"{xihu.url('supervision')}/api/v1/supervision/parts/{case_id}-planning/urge",
        headers=as_role(xihu, Role.WINDOW, "S-0107"),
        timeout=5,
    )
    assert urged.status_code == 200, urged.text
    deadline, notices = time.monotonic() + 30, list[dict[str, Any]]()
    while time.monotonic() < deadline and not notices:
        received = httpx.get(f"{hangzhou.simulator_url('planning')}/gov/v1/notices", timeout=5).json()
        notices = [n for n in received if n["bizNo"] == f"{case_id}-planning" and n["kind"] == "urge"]
        time.sleep(0.3)
    assert notices, "the city's planning department got the urge as a notice"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        view = httpx.get(f"{xihu.url('supervision')}/api/v1/supervision/cases/{case_id}", headers=supervisor, timeout=5)
        away = next(p["away"] for p in view.json()["parts"] if p["department"] == "planning")
        if away["urges"] >= 1:
            break
        time.sleep(0.3)
    assert away["urges"] == 1, "the city's count of urgings came home"


def test_a_town_point_files_for_the_applicant_and_hands_over_the_one_reply(centers: LocalCenters) -> None:
    """代办 across three levels: the town files at its district, the district's planning part goes up to the city;
    the reply the town hands over says so."""
    town, xihu = centers.systems["zhuantang"], centers.systems["xihu"]
    response = httpx.post(
        f"{town.url('intake')}/api/v1/cases",
        json=district_case(new_applicant()),
        headers=as_role(town, Role.WINDOW, "ZT-AGENT-02"),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    case = response.json()["case"]
    assert case["handled_at"] == "xihu"
    reply = wait_for_reply(town.url("gateway"), case["case_id"], {"X-Query-Code": case["query_code"]}, timeout=120)
    assert reply["reply"]["outcome"] == "approved"
    assert "由杭州市民中心（市行政服务中心）决定：准予" in reply["reply"]["message"]
    district = httpx.get(
        f"{xihu.url('intake')}/api/v1/cases/{case['case_id']}", headers=as_role(xihu, Role.WINDOW, "S-0107"), timeout=5
    ).json()["case"]
    assert district["filed_by_agent"] == "zhuantang"
    assert district["staff_id"] == "zhuantang:ZT-AGENT-02"


def test_only_the_link_writes_what_comes_from_another_center_and_keeps_its_own_topics(centers: LocalCenters) -> None:
    """On the city's cluster the city's own services may not write the district's exchange topic (what is there
    came from the district); on the district's, the link to the city may not write the district's own outgoing
    one. Each cluster holds the Connect topics of the flow that writes there, under the link's names only."""
    city, district = centers.kafkas["hangzhou"].access, centers.kafkas["xihu"].access

    async def try_write(options: dict[str, Any], topic: str) -> None:
        async with producer(options) as client:
            await client.send_and_wait(topic, b"{}")

    for options, topic in (
        (city.client_options("intake"), UP),
        (city.client_options("supervision"), UP),
        (district.client_options(exchange_principal("hangzhou")), UP),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            asyncio.run(try_write(options, topic))

    async def mirror_topics(access: KafkaAccess) -> list[str]:
        admin = AIOKafkaAdminClient(**access.client_options(ADMIN))
        await admin.start()
        try:
            return sorted(n for n in await admin.list_topics() if "mirror" in n or "heartbeats" in n or n.startswith("mm2-"))
        finally:
            await admin.close()

    for here, other in (("hangzhou", "xihu"), ("xihu", "hangzhou")):
        internal = exchange_mirror_topics(here, other)
        kept = asyncio.run(mirror_topics(centers.kafkas[here].access))
        assert [t for t in kept if t.startswith(f"lianban.{here}.exchange-mirror.{other}.")] == [
            f"{internal}{kind}" for kind in ("configs", "offsets", "status")
        ]
        assert not [t for t in kept if "heartbeats" in t or t.startswith("mm2-")], "no heartbeats, checkpoints, offset-syncs"
