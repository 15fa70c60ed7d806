"""Working days across the 2026 National Day holiday and its adjusted working weekend days."""

import datetime as dt

import pytest

from hub.working_days import load_calendar

pytestmark = pytest.mark.unit

D = dt.date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 9, 30), True),  # Wednesday before the holiday
        (D(2026, 10, 1), False),  # National Day
        (D(2026, 10, 7), False),  # last day of the holiday, a Wednesday
        (D(2026, 10, 8), True),
        (D(2026, 10, 10), True),  # Saturday, worked in exchange (调休)
        (D(2026, 10, 11), False),  # an ordinary Sunday
        (D(2026, 9, 20), True),  # Sunday, worked in exchange
        (D(2026, 2, 16), False),  # Spring Festival, a Monday
    ],
)
def test_is_working_day(day: dt.date, working: bool) -> None:
    assert load_calendar().is_working_day(day) is working


def test_add_working_days_skips_the_holiday_and_counts_the_swapped_saturday() -> None:
    calendar = load_calendar()
    # Sep 30 + 1 working day: Oct 1-7 are off, so Oct 8.
    assert calendar.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    # Oct 8 (Thu) + 2: Oct 9 (Fri), Oct 10 (the worked Saturday).
    assert calendar.add_working_days(D(2026, 10, 8), 2) == D(2026, 10, 10)
    assert calendar.add_working_days(D(2026, 9, 30), 0) == D(2026, 9, 30)
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3
