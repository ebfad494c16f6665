"""Centers exchanging a case, rule by rule: a district's department reviews its part first and transfers it
up (初审转报) with the days it counted; the city files it as an accepted case with what remains, counted with
its own calendar; the city department's decision comes home as the district part's."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from services.intake.domain.case import open_case
from services.intake.domain.exchange import Exchange, ExchangeRefused, counted_dates
from services.intake.domain.lifecycle import JointCase
from services.intake.domain.part import Refused, Suspension
from shared.centers import Centers
from shared.contracts import (
    Accept,
    Approve,
    CaseConcluded,
    Certificate,
    Deny,
    EventData,
    HandlingStarted,
    Outcome,
    PartState,
    PartTransferred,
    SuspensionKind,
    Transfer,
    TransferDecided,
)
from shared.exchange import unproven
from shared.signing import KeyRegistry, Signer, new_key_pair
from shared.workdays import WorkingCalendar
from tests.builders import CATALOG, T0, application, materials_for

CENTERS = Centers.load()
MONDAY = T0  # 2026-11-23 09:00 in China


def calendar(tmp_path: Path, workdays: list[str] = ()) -> WorkingCalendar:  # type: ignore[assignment]
    """A center's calendar with its own local decisions (调休 on a Saturday, say)."""
    path = tmp_path / f"calendar-{len(workdays)}.json"
    path.write_text(json.dumps({"years": {}, "local": {"holidays": [], "workdays": list(workdays)}}))
    return WorkingCalendar(path)


def district_case(exchange: Exchange, case_id: str = "LB20261123XH0001") -> JointCase:
    joint = CATALOG.joint_matters["JM-DIST-001"]
    filed = application(matter_code=joint.code, lead_department=joint.lead, materials=materials_for(joint.code))
    return open_case(CATALOG, joint, filed, case_id, exchange.center, MONDAY, "QC", exchange.parent)


def accepted(case: JointCase, at: datetime = MONDAY) -> list[EventData]:
    return [e for d in ("planning", "fire") for e in case.act(d, f"{d}-01", Accept(), at)]


def transfer(exchange: Exchange, case: JointCase, at: datetime) -> PartTransferred:
    action = Transfer(opinion="初审同意，转报市局审批")
    events = case.act("planning", "PLN-XH-07", action, at)
    (record,) = exchange.follow_up(case, "planning", "PLN-XH-07", action, events, at)
    assert isinstance(record, PartTransferred)
    return record


def test_a_district_part_of_a_preliminary_review_goes_to_the_city(tmp_path: Path) -> None:
    xihu = Exchange("xihu", CENTERS, calendar(tmp_path))
    case = district_case(xihu)
    planning = case.part_of("planning")
    assert planning.transfer is not None
    assert (planning.transfer.center, planning.transfer.matter_code) == ("hangzhou", "PLN-LICENCE")
    assert case.part_of("fire").transfer is None
    started = [e for e in accepted(case) if isinstance(e, HandlingStarted)]
    assert {e.department: e.transfer_to for e in started} == {"planning": "hangzhou", "fire": None}
    assert next(e for e in started if e.department == "planning").transfer_to_name == "杭州市民中心（市行政服务中心）"


def test_the_transfer_carries_the_keys_and_the_days_counted_by_the_district(tmp_path: Path) -> None:
    xihu = Exchange("xihu", CENTERS, calendar(tmp_path, ["2026-11-28"]))  # a local make-up working Saturday
    case = district_case(xihu)
    accepted(case)
    record = transfer(xihu, case, MONDAY + timedelta(days=7))  # the next Monday
    assert record.stage_key == "LB20261123XH0001/transfer/LB20261123XH0001-planning"
    assert (record.from_center, record.from_division, record.to_center, record.to_division) == (
        "xihu",
        "330106",
        "hangzhou",
        "330100",
    )
    assert record.matter_code == "PLN-LICENCE"
    assert record.counted_dates == [date(2026, 11, d) for d in (24, 25, 26, 27, 28, 30)]
    assert record.counted_days == 6
    assert case.part_of("planning").state is PartState.TRANSFERRED
    assert case.owes_next_step() == ["planning", "fire"]


def test_days_under_a_suspension_are_not_counted(tmp_path: Path) -> None:
    days = counted_dates(
        calendar(tmp_path),
        MONDAY,
        MONDAY + timedelta(days=4),
        [
            Suspension(
                kind=SuspensionKind.EXPERT_REVIEW,
                reason="专家评审",
                applicant_notified_on=date(2026, 11, 24),
                started_at=MONDAY + timedelta(days=1),
                ended_at=MONDAY + timedelta(days=2, hours=1),
            )
        ],
    )
    assert days == [date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)]  # Tuesday closed suspended


def test_the_city_files_it_accepted_with_what_remains_and_its_decision_goes_home(tmp_path: Path) -> None:
    xihu = Exchange("xihu", CENTERS, calendar(tmp_path, ["2026-11-28"]))
    hangzhou = Exchange("hangzhou", CENTERS, calendar(tmp_path))  # no local make-up day at the city
    case = district_case(xihu)
    accepted(case)
    record = transfer(xihu, case, MONDAY + timedelta(days=7))
    assert hangzhou.refusal(record, "xihu") is None

    city = hangzhou.filed(record, CATALOG, MONDAY + timedelta(days=7, hours=1))
    assert city.case_id == record.serial
    assert city.center == "hangzhou"
    assert city.parts[0].time_limit_days == 20 - 6
    assert city.parts[0].state is PartState.HANDLING
    assert city.transferred_from is not None
    assert city.transferred_from.counted_days == 6
    opening = city.opening_transferred(MONDAY + timedelta(days=7, hours=1))
    assert [type(e).__name__ for e in opening] == ["CaseSubmitted", "CaseAccepted", "HandlingStarted"]

    decided_at = MONDAY + timedelta(days=9)
    approval = Approve(
        document_number="建字第330100202600123号", certificates=[Certificate(name="建设工程规划许可证", sha256="a" * 64)]
    )
    events = city.act("planning", "PLN-HZ-02", approval, decided_at, stored={"a" * 64})
    (home,) = hangzhou.follow_up(city, "planning", "PLN-HZ-02", approval, events, decided_at)
    assert isinstance(home, TransferDecided)
    assert (home.serial, home.stage_id, home.from_center, home.to_center) == (
        case.case_id,
        f"{case.case_id}-planning",
        "hangzhou",
        "xihu",
    )
    assert home.staff_id == "PLN-HZ-02"
    assert xihu.refusal(home, "hangzhou") is None

    case.act("fire", "fire-01", Approve(document_number="FIRE-1"), decided_at)
    _recorded, concluded = case.transfer_decided("planning", home.staff_id, home.decision, decided_at, home.decided_at)
    assert isinstance(concluded, CaseConcluded)
    assert concluded.outcome is Outcome.APPROVED
    planning = next(p for p in concluded.parts if p.department == "planning")
    assert planning.document_number == "建字第330100202600123号"
    assert planning.decided_by_center == "杭州市民中心（市行政服务中心）"
    assert next(p for p in concluded.parts if p.department == "fire").decided_by_center is None
    assert planning.certificates == []  # the file stays with the city that issued it


def test_a_denial_at_the_city_denies_the_district_part(tmp_path: Path) -> None:
    xihu, hangzhou = Exchange("xihu", CENTERS, calendar(tmp_path)), Exchange("hangzhou", CENTERS, calendar(tmp_path))
    case = district_case(xihu)
    accepted(case)
    city = hangzhou.filed(transfer(xihu, case, MONDAY + timedelta(days=1)), CATALOG, MONDAY + timedelta(days=1))
    denial = Deny(legal_basis="《中华人民共和国城乡规划法》第四十条", reason="不符合控制性详细规划")
    events = city.act("planning", "PLN-HZ-02", denial, MONDAY + timedelta(days=2))
    (home,) = hangzhou.follow_up(city, "planning", "PLN-HZ-02", denial, events, MONDAY + timedelta(days=2))
    assert isinstance(home, TransferDecided)
    case.transfer_decided("planning", home.staff_id, home.decision, MONDAY + timedelta(days=2), home.decided_at)
    assert case.part_of("planning").state is PartState.DENIED


def test_the_district_department_cannot_decide_what_it_transferred(tmp_path: Path) -> None:
    xihu = Exchange("xihu", CENTERS, calendar(tmp_path))
    case = district_case(xihu)
    accepted(case)
    transfer(xihu, case, MONDAY + timedelta(days=1))
    with pytest.raises(Refused, match="已转报"):
        case.act("planning", "PLN-XH-07", Approve(document_number="X-1"), MONDAY + timedelta(days=2))
    with pytest.raises(Refused, match="已转报"):
        case.act("planning", "PLN-XH-07", Transfer(opinion="再次转报"), MONDAY + timedelta(days=2))


def test_only_a_part_reviewed_first_is_transferred(tmp_path: Path) -> None:
    xihu = Exchange("xihu", CENTERS, calendar(tmp_path))
    case = district_case(xihu)
    accepted(case)
    with pytest.raises(Refused, match="无需转报"):
        case.act("fire", "fire-01", Transfer(opinion="转报"), MONDAY + timedelta(days=1))
    with pytest.raises(Refused, match="未在转报"):
        case.transfer_decided("fire", "x", Approve(document_number="F-1"), MONDAY, MONDAY)


def test_a_center_without_a_parent_decides_its_preliminary_reviews_itself(tmp_path: Path) -> None:
    joint = CATALOG.joint_matters["JM-DIST-001"]
    filed = application(matter_code=joint.code, lead_department=joint.lead, materials=materials_for(joint.code))
    case = open_case(CATALOG, joint, filed, "LB2", "demo", MONDAY)
    assert all(p.transfer is None for p in case.parts)


def test_records_are_taken_only_in_their_direction_from_their_sender(tmp_path: Path) -> None:
    xihu, hangzhou = Exchange("xihu", CENTERS, calendar(tmp_path)), Exchange("hangzhou", CENTERS, calendar(tmp_path))
    case = district_case(xihu)
    accepted(case)
    record = transfer(xihu, case, MONDAY + timedelta(days=1))
    key, public = new_key_pair(tmp_path, "xihu")
    (tmp_path / "keys.json").write_text(json.dumps({"xihu": [{"key_id": "xihu-1", "public_key": public}]}))
    keys, signed = (
        KeyRegistry.load(tmp_path / "keys.json"),
        json.loads(Signer.load(key, "xihu-1").sign(record.model_dump_json().encode())),
    )
    assert unproven(keys, signed, record, "xihu", "hangzhou") is None
    assert "未登记为 gongshu" in (unproven(keys, signed, record, "gongshu", "hangzhou") or "")  # on gongshu's topic
    assert "与通道不符" in (unproven(keys, signed, record, "xihu", "gongshu") or "")  # not addressed to gongshu
    sideways = record.model_copy(update={"to_center": "xihu", "from_center": "hangzhou"})
    assert "不是本中心的下级" in (xihu.refusal(sideways, "hangzhou") or "")  # a parent does not transfer down
    with pytest.raises(ExchangeRefused, match="PLN-NOPE"):
        hangzhou.filed(record.model_copy(update={"matter_code": "PLN-NOPE"}), CATALOG, MONDAY)


def test_the_registry_knows_parents_children_and_refuses_a_cycle() -> None:
    assert CENTERS.peers("hangzhou") == ["xihu", "gongshu"]
    assert CENTERS.peers("xihu") == ["hangzhou", "zhuantang"]
    assert CENTERS.ancestors("zhuantang") == ["xihu", "hangzhou"]
    assert CENTERS.peers("demo") == []
    looped = {
        code: c.model_copy(update={"parent": "zhuantang"}) if code == "hangzhou" else c for code, c in CENTERS.centers.items()
    }
    with pytest.raises(ValueError, match="own ancestor"):
        Centers(looped)


def test_an_exchange_record_travels_signed_by_the_center_and_is_read_back(tmp_path: Path) -> None:
    from shared.contracts import CloudEvent
    from shared.messaging.outbox import Outbox
    from shared.signing import KeyRegistry, Signer, new_key_pair
    from shared.topics import Topics

    xihu = Exchange("xihu", CENTERS, calendar(tmp_path))
    case = district_case(xihu)
    accepted(case)
    record = transfer(xihu, case, MONDAY + timedelta(days=1))
    key, public = new_key_pair(tmp_path, "xihu")
    (tmp_path / "centers.json").write_text(json.dumps({"xihu": [{"key_id": "xihu-1", "public_key": public}]}))
    outbox = Outbox("/lianban/xihu/intake", Topics("xihu"), center_signer=Signer.load(key, "xihu-1"))
    _, rows = outbox.rows(record, subject=record.serial)
    assert [r["topic"] for r in rows] == ["lianban.xihu.exchange.hangzhou"]
    registry = KeyRegistry.load(tmp_path / "centers.json")
    sent = json.loads(rows[0]["payload"])
    assert registry.check(sent, "xihu") is None
    assert "未登记" in (registry.check(sent, "gongshu") or "")
    assert CloudEvent.from_bytes(rows[0]["payload"]).payload() == record
    other = outbox.rows(case.act("fire", "f", Approve(document_number="F-1"), MONDAY + timedelta(days=2))[0], subject="x")[1]
    assert "lbsig" not in json.loads(other[0]["payload"])  # only exchange records carry the center's signature
