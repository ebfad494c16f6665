"""Limits count working days: weekends and holidays out, make-up days (调休) in, unknown years refused."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from shared.workdays import CHINA, UnknownYearError, WorkingCalendar


def test_national_day_holiday_is_skipped() -> None:
    # 2026-10-01..07 is the National Day holiday; the next working day after 30 September is 8 October.
    assert WorkingCalendar().add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_a_make_up_sunday_is_a_working_day() -> None:
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2026, 9, 20))  # Sunday, worked in exchange for the holiday
    assert not calendar.is_working_day(date(2026, 9, 27))  # an ordinary Sunday


def test_deadline_is_the_end_of_the_nth_working_day_in_china() -> None:
    friday_evening = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 18:00 in Beijing
    deadline = WorkingCalendar().deadline(friday_evening, 3)
    assert deadline == datetime(2026, 11, 25, 17, 0, tzinfo=CHINA)


def test_zero_days_means_the_same_working_day() -> None:
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert WorkingCalendar().deadline(start, 0).date() == date(2026, 11, 23)


def test_a_year_nobody_knows_is_an_error_naming_the_override_file(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"years": {}}))
    with pytest.raises(UnknownYearError, match=str(overrides)):
        WorkingCalendar(overrides).is_working_day(date(2031, 3, 3))


def test_the_override_file_adds_a_year_and_local_decisions(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text(
        json.dumps(
            {
                "years": {"2031": {"holidays": ["2031-01-01"], "workdays": ["2031-01-04"]}},
                "local": {"holidays": ["2026-11-24"], "workdays": []},
            }
        )
    )
    calendar = WorkingCalendar(overrides)
    assert not calendar.is_working_day(date(2031, 1, 1))  # a Wednesday holiday
    assert calendar.is_working_day(date(2031, 1, 4))  # a Saturday made a working day
    assert calendar.is_working_day(date(2031, 1, 6))
    assert not calendar.is_working_day(date(2026, 11, 24))  # a local closure


def test_an_immediate_limit_taken_after_closing_time_runs_to_the_next_working_day() -> None:
    calendar = WorkingCalendar()
    friday_evening = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)  # 18:30 in Beijing
    assert calendar.deadline(friday_evening, 0) == datetime(2026, 11, 30, 17, 0, tzinfo=CHINA)
    saturday = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert calendar.deadline(saturday, 0).date() == date(2026, 11, 30)
