"""Working days (工作日) under the mainland holiday arrangement in contracts/working_calendar.yaml.

Promised and statutory time limits are counted in working days: weekends and public holidays
do not count, and the weekend days swapped for holidays (调休) do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from hub.settings import REPO_ROOT

CALENDAR_FILE = REPO_ROOT / "contracts" / "working_calendar.yaml"


def _days(entry: object) -> list[dt.date]:
    if isinstance(entry, dt.date):
        return [entry]
    if isinstance(entry, list) and len(entry) == 2:
        first, last = entry
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    raise ValueError(f"{CALENDAR_FILE}: a holiday is a date or [first, last], not {entry!r}")


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[dt.date]
    working_weekend_days: frozenset[dt.date]
    known_years: frozenset[int]

    def covers(self, day: dt.date) -> bool:
        """Whether the holiday arrangement of the day's year is known (else: weekends only)."""
        return day.year in self.known_years

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_weekend_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date `days` working days after `start` (start itself not counted); 0 gives start."""
        current = start
        remaining = days
        while remaining > 0:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            count += self.is_working_day(current)
        return count


@cache
def load_calendar(path: Path = CALENDAR_FILE) -> WorkingCalendar:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    holidays: set[dt.date] = set()
    swapped: set[dt.date] = set()
    for year in document["years"].values():
        for entry in year["holidays"]:
            holidays.update(_days(entry))
        swapped.update(year["working_weekend_days"])
    return WorkingCalendar(frozenset(holidays), frozenset(swapped), frozenset(document["years"]))
