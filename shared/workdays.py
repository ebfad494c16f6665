"""Working days (工作日): weekends and statutory holidays off, make-up working days (调休) on.

`chinesecalendar` knows the State Council's schedules it was released with; an override file
adds later years and local decisions. A date in a year neither knows is an error that names
the override file: a deadline is never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

CHINA = ZoneInfo("Asia/Shanghai")


class UnknownYearError(LookupError):
    pass


@dataclass(frozen=True)
class Overrides:
    """Whole years published after the package, and local decisions on single days."""

    years: dict[int, tuple[frozenset[date], frozenset[date]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def load(cls, path: Path) -> Overrides:
        raw = json.loads(path.read_text(encoding="utf-8"))
        years = {
            int(year): (_dates(spec.get("holidays", [])), _dates(spec.get("workdays", [])))
            for year, spec in raw.get("years", {}).items()
        }
        local = raw.get("local", {})
        return cls(years, _dates(local.get("holidays", [])), _dates(local.get("workdays", [])))


def _dates(values: list[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(v) for v in values)


class WorkingCalendar:
    def __init__(self, overrides_path: Path | None = None, day_end: time = time(17, 0)) -> None:
        self.overrides_path = overrides_path
        self.overrides = Overrides.load(overrides_path) if overrides_path else Overrides()
        self.day_end = day_end
        self._known: dict[date, bool] = {}  # looked up once a day: deadlines walk the same weeks again and again

    def is_working_day(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        if day in self.overrides.holidays:
            return False
        if day in self.overrides.workdays:
            return True
        if day.year in self.overrides.years:
            holidays, workdays = self.overrides.years[day.year]
            return day in workdays or (day.weekday() < 5 and day not in holidays)
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            where = self.overrides_path or "a calendar override file"
            raise UnknownYearError(
                f"no working-day schedule for {day.year}: chinesecalendar does not know it; "
                f"add the year's holidays and make-up days to {where}"
            ) from None

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (start itself not counted); 0 gives `start`."""
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def deadline(self, start: datetime, days: int) -> datetime:
        """End of the working day on which a limit of `days` working days runs out. Days count
        from the day after the start; an immediate limit (0) taken after closing time or on a
        day off runs to the end of the next working day."""
        local = start.astimezone(CHINA)
        last_day = self.add_working_days(local.date(), days)
        if days == 0 and (not self.is_working_day(last_day) or local.time() >= self.day_end):
            last_day = self.add_working_days(last_day, 1)
        return datetime.combine(last_day, self.day_end, tzinfo=CHINA)

    def shift(self, moment: datetime, days: int) -> datetime:
        """The same local time `days` working days later (or earlier, for a negative count)."""
        local = moment.astimezone(CHINA)
        current, remaining, step = local.date(), abs(days), 1 if days >= 0 else -1
        while remaining > 0:
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
        return datetime.combine(current, local.timetz())

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            count += self.is_working_day(current)
        return count
