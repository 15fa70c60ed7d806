"""Supervision alerts on hand-made cases, with the expected cards worked out by hand from the 2026
holiday arrangement: Mid-Autumn 25-27 Sep, National Day 1-7 Oct, and the swapped working days
Sunday 20 Sep and Saturday 10 Oct."""

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F

from hub.analyst_marts import ANALYST_MARTS
from hub.settings import DISTRICT_TIMEZONE
from hub.working_days import load_calendar
from jobs.supervision import monthly_alert_counts, supervision_alerts
from quality.row_rules import CalendarArrays

pytestmark = pytest.mark.spark

CASES = (
    "case_id string, department string, subject_id string, item_code string, status string, "
    "received_at timestamp, decided_at timestamp, promised_deadline date, updated_at timestamp"
)
EVENTS = "department string, case_id string, event_type string, event_at timestamp, fee_amount decimal(12,2)"
ITEMS = "item_code string, fee_free boolean, fee_standard decimal(12,2), risk_tier string"
MATERIALS = "department string, case_id string, material_type string, accepted boolean"
REQUIREMENTS = "item_code string, material_type string, mandatory boolean"


def _t(text: str) -> dt.datetime:
    """A district time (Spark computes days in the district's time zone)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=DISTRICT_TIMEZONE)


def _local(value: dt.datetime | None) -> dt.datetime | None:
    # Spark returns naive datetimes in this process's time zone.
    return value.astimezone(DISTRICT_TIMEZONE) if value else None


AS_OF = _t("2026-10-20 00:00")
# An instant item decided within hours: no time limit to watch.
SAME_DAY = {"received": "2026-10-08 09:00", "decided": "2026-10-08 11:00", "deadline": "2026-10-08"}


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _case(
    case_id: str, item: str, status: str, *, received: str, decided: str | None, deadline: str | None
) -> tuple[object, ...]:
    decided_at = _t(decided) if decided else None
    return (
        case_id,
        "dept",
        "S1",
        item,
        status,
        _t(received),
        decided_at,
        deadline and _d(deadline),
        _t(received),
    )


@pytest.fixture(scope="module")
def alert_rows(spark: SparkSession) -> list[Row]:
    cases = [
        # Received Tue 29 Sep, 5 working days: 30 Sep, 8, 9, 10 (Saturday, swapped) and 12 Oct. The
        # 4th (80%) is Sat 10 Oct: yellow then; overdue from Tue 13 Oct, still open.
        _case("A", "I1", "accepted", received="2026-09-29 09:00", decided=None, deadline="2026-10-12"),
        # Received Sat 19 Sep: time starts on Sun 20 Sep (swapped working day); 1 working day is
        # due Mon 21 Sep, yellow from its start; decided that afternoon, so no red.
        _case(
            "B",
            "I1",
            "completed",
            received="2026-09-19 10:00",
            decided="2026-09-21 15:00",
            deadline="2026-09-21",
        ),
        # Received Thu 24 Sep, 3 working days over Mid-Autumn: 28, 29, 30 Sep; yellow would be
        # 30 Sep, but it was decided on the 29th.
        _case(
            "C",
            "I1",
            "completed",
            received="2026-09-24 10:00",
            decided="2026-09-29 16:00",
            deadline="2026-09-30",
        ),
        # An instant item (due the day it came) and open: no time-limit card.
        _case("D", "I1", "accepted", received="2026-10-09 10:00", decided=None, deadline="2026-10-09"),
        _case(
            "E", "I1", "not_accepted", received="2026-10-09 09:00", decided="2026-10-09 10:00", deadline=None
        ),
        # 7 working days (9, 10, 12-16 Oct); decided on the 5th, before its yellow day (the 6th).
        _case(
            "F",
            "I1",
            "completed",
            received="2026-10-08 09:00",
            decided="2026-10-14 09:00",
            deadline="2026-10-16",
        ),
        _case("G", "FREE", "completed", **SAME_DAY),
        _case("H", "PAID", "completed", **SAME_DAY),
        _case("I", "PAID", "completed", **SAME_DAY),
        # Due Fri 9 Oct (1 working day), decided after the moment of the build: at AS_OF the red card
        # (from Sat 10 Oct, the day after the deadline) stands and has replaced the yellow one.
        _case(
            "J",
            "I1",
            "completed",
            received="2026-10-08 09:00",
            decided="2026-10-21 09:00",
            deadline="2026-10-09",
        ),
        # Permitted after the moment of the build with nothing handed in: no alert yet.
        _case(
            "K",
            "PAID",
            "completed",
            received="2026-10-19 09:00",
            decided="2026-10-21 09:00",
            deadline="2026-10-19",
        ),
        # Refused with nothing handed in: a missing material is a reason to refuse, not an alert.
        _case(
            "L",
            "PAID",
            "not_permitted",
            received="2026-10-08 09:00",
            decided="2026-10-08 15:00",
            deadline="2026-10-08",
        ),
    ]
    # FREE needs a form; PAID a form and a licence (a photo is optional). I1 needs nothing.
    requirements = [
        ("FREE", "form", True),
        ("PAID", "form", True),
        ("PAID", "licence", True),
        ("PAID", "photo", False),
    ]
    materials = [
        # G's only form was turned down: permitted on nothing accepted.
        ("dept", "G", "form", False),
        # H's licence was turned down once, then a good one accepted: complete.
        ("dept", "H", "form", True),
        ("dept", "H", "licence", False),
        ("dept", "H", "licence", True),
        # I never handed in the licence (nor the optional photo).
        ("dept", "I", "form", True),
    ]
    events = [
        ("dept", "F", "supplement_requested", _t("2026-10-08 10:00"), None),
        ("dept", "F", "supplement_requested", _t("2026-10-12 09:00"), None),
        ("dept", "C", "supplement_requested", _t("2026-09-28 09:00"), None),
        ("dept", "G", "fee_charged", _t("2026-10-08 11:00"), Decimal("50.00")),
        ("dept", "H", "fee_charged", _t("2026-10-08 11:00"), Decimal("120.00")),
        ("dept", "I", "fee_charged", _t("2026-10-08 11:00"), Decimal("100.00")),
    ]
    items = [
        ("I1", False, Decimal("0.00"), "low"),
        ("FREE", True, Decimal("0.00"), "low"),
        ("PAID", False, Decimal("100.00"), "medium"),
    ]
    result = supervision_alerts(
        spark.createDataFrame(cases, CASES),
        events=spark.createDataFrame(events, EVENTS),
        materials=spark.createDataFrame(materials, MATERIALS),
        items=spark.createDataFrame(items, ITEMS),
        requirements=spark.createDataFrame(requirements, REQUIREMENTS),
        calendar=CalendarArrays.of(load_calendar()),
        as_of=F.lit(AS_OF),
    )
    return result.collect()


@pytest.fixture(scope="module")
def alerts(alert_rows: list[Row]) -> dict[tuple[str, str], tuple[object, object]]:
    return {(r.case_id, r.rule): (_local(r.raised_at), _local(r.cleared_at)) for r in alert_rows}


def test_cards_count_working_days_across_holidays_and_swapped_weekends(alerts) -> None:
    cards = {k: v for k, v in alerts.items() if k[1].endswith("_card")}
    assert cards == {
        ("A", "yellow_card"): (_t("2026-10-10 00:00"), _t("2026-10-13 00:00")),
        ("A", "red_card"): (_t("2026-10-13 00:00"), None),
        ("B", "yellow_card"): (_t("2026-09-21 00:00"), _t("2026-09-21 15:00")),
        ("J", "yellow_card"): (_t("2026-10-09 00:00"), _t("2026-10-10 00:00")),
        ("J", "red_card"): (_t("2026-10-10 00:00"), None),
    }


def test_refusals_supplements_and_fees_are_alerts(alerts) -> None:
    others = {k: v for k, v in alerts.items() if not k[1].endswith("_card")}
    assert others == {
        ("E", "not_accepted"): (_t("2026-10-09 10:00"), None),
        ("F", "repeated_supplement"): (_t("2026-10-12 09:00"), None),
        ("G", "fee_on_free_item"): (_t("2026-10-08 11:00"), None),
        ("H", "fee_above_standard"): (_t("2026-10-08 11:00"), None),
        ("G", "insufficient_basis"): (_t("2026-10-08 11:00"), None),
        ("I", "materials_incomplete"): (_t("2026-10-08 11:00"), None),
        ("L", "not_permitted"): (_t("2026-10-08 15:00"), None),
    }


def test_a_permit_names_the_materials_it_lacked(alert_rows: list[Row]) -> None:
    details = {
        (r.case_id, r.rule): r.detail for r in alert_rows if r.rule.startswith(("materials", "insuff"))
    }
    assert details == {
        ("G", "insufficient_basis"): "turned down: form",
        ("I", "materials_incomplete"): "missing: licence",
    }


def test_monthly_counts_raised_and_cleared(spark: SparkSession) -> None:
    alerts = spark.createDataFrame(
        [
            ("red_card", "d1", "S1", _t("2026-09-30 00:00"), None),
            ("red_card", "d1", "S1", _t("2026-09-02 00:00"), _t("2026-09-03 10:00")),
            ("red_card", "d1", "S2", _t("2026-10-01 00:00"), None),
            ("not_accepted", "d2", "S1", _t("2026-09-30 10:00"), None),
        ],
        "rule string, department string, subject_id string, raised_at timestamp, cleared_at timestamp",
    )
    monthly = monthly_alert_counts(alerts)
    assert tuple(monthly.columns) == ANALYST_MARTS["supervision_monthly"].columns
    counts = [tuple(r) for r in monthly.collect()]
    # Midnight of 1 Oct in the district is October, though it is still 30 Sep in UTC. The last
    # figure counts distinct applicants: S1's two red cards in September are one.
    assert counts == [
        ("2026-09", "d1", "red_card", 2, 1, 1),
        ("2026-09", "d2", "not_accepted", 1, 0, 1),
        ("2026-10", "d1", "red_card", 1, 0, 1),
    ]
