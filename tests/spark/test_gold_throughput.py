"""Throughput marts on five hand-made cases around the 2026 National Day holiday (1-7 Oct), with the
expected figures counted by hand."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession

from hub.analyst_marts import ANALYST_MARTS
from hub.settings import DISTRICT_TIMEZONE
from hub.working_days import load_calendar
from jobs.throughput import by_day, by_month, case_facts, throughput
from quality.row_rules import CalendarArrays

pytestmark = pytest.mark.spark

CASES = (
    "case_id string, department string, subject_id string, item_code string, channel string, "
    "handling_tier string, status string, received_at timestamp, decided_at timestamp, "
    "promised_deadline date"
)


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=DISTRICT_TIMEZONE)


def _case(
    case_id: str, subject: str, channel: str, status: str, times: tuple[str, str | None, str]
) -> tuple[object, ...]:
    received, decided, deadline = times
    return (
        case_id,
        "d",
        subject,
        "I",
        channel,
        "district",
        status,
        _t(received),
        _t(decided) if decided else None,
        dt.date.fromisoformat(deadline),
    )


@pytest.fixture(scope="module")
def facts(spark: SparkSession):
    cases = [
        # Promised 2 working days (29, 30 Sep); decided after 1, its result sent by courier.
        _case("c1", "S1", "window", "completed", ("2026-09-28 09:00", "2026-09-29 10:00", "2026-09-30")),
        # Decided on 8 Oct after two supplement rounds: 3 working days used (29, 30 Sep, 8 Oct).
        _case("c2", "S2", "window", "completed", ("2026-09-28 11:00", "2026-10-08 10:00", "2026-09-30")),
        _case("c3", "S3", "window", "not_accepted", ("2026-09-28 12:00", "2026-09-28 12:30", "2026-09-30")),
        # Still open; hands in the same file c1 did.
        _case("c4", "S1", "window", "accepted", ("2026-09-29 09:00", None, "2026-10-09")),
        _case("c5", "S1", "online", "not_permitted", ("2026-09-29 09:00", "2026-09-30 16:00", "2026-09-30")),
    ]
    events = [
        ("d", "c2", "supplement_requested", _t("2026-09-29 09:00")),
        ("d", "c2", "supplement_requested", _t("2026-09-30 09:00")),
        ("d", "c1", "accepted", _t("2026-09-28 09:10")),
    ]
    materials = [
        ("m1", "d", "c1", "S1", "x", _t("2026-09-28 09:00")),
        ("m2", "d", "c4", "S1", "x", _t("2026-09-29 09:00")),
        ("m3", "d", "c4", "S1", "y", _t("2026-09-29 09:00")),
    ]
    deliveries = [("d", "c1", "delivery"), ("d", "c2", "pickup")]
    return case_facts(
        spark.createDataFrame(cases, CASES),
        events=spark.createDataFrame(
            events, "department string, case_id string, event_type string, event_at timestamp"
        ),
        materials=spark.createDataFrame(
            materials,
            "material_id string, department string, case_id string, subject_id string, sha256 string, "
            "submitted_at timestamp",
        ),
        deliveries=spark.createDataFrame(deliveries, "department string, case_id string, direction string"),
        calendar=CalendarArrays.of(load_calendar()),
    )


def _rows(mart) -> dict[tuple[str, str], tuple[object, ...]]:
    return {
        (str(r.period), r.channel): (
            r.received,
            r.accepted,
            r.materials_reused,
            r.visits_saved,
            r.decided,
            r.on_time,
            r.overdue,
            r.median_working_days,
            r.p90_working_days,
            r.median_promised_days,
            r.supplement_requests,
            r.backlog,
            r.subjects,
        )
        for r in mart.collect()
    }


# The last figure is `subjects`: the distinct applicants of the smaller of the row's two sides
# (received in the period, decided in it), a side without cases not counting.
def test_daily_throughput(facts) -> None:
    mart = throughput(facts, by_day)
    assert tuple(mart.columns) == ANALYST_MARTS["throughput_daily"].columns
    assert _rows(mart) == {
        # Received c1, c2, c3 from S1, S2, S3; nothing decided.
        ("2026-09-28", "window"): (3, 2, 0, 1, 0, 0, 0, None, None, None, 0, 2, 3),
        # Received c4 and decided c1, both S1's.
        ("2026-09-29", "window"): (1, 1, 1, 0, 1, 1, 0, 1.0, 1.0, 2.0, 0, 2, 1),
        ("2026-10-08", "window"): (0, 0, 0, 0, 1, 0, 1, 3.0, 3.0, 2.0, 2, 1, 1),
        ("2026-09-29", "online"): (1, 1, 0, 1, 0, 0, 0, None, None, None, 0, 1, 1),
        ("2026-09-30", "online"): (0, 0, 0, 0, 1, 1, 0, 1.0, 1.0, 1.0, 0, 0, 1),
    }


def test_monthly_throughput(facts) -> None:
    mart = throughput(facts, by_month)
    assert tuple(mart.columns) == ANALYST_MARTS["throughput_monthly"].columns
    assert _rows(mart) == {
        # Received from S1, S2, S3, but the one decision (c1) is S1's alone: the row covers 1.
        ("2026-09-01", "window"): (4, 3, 1, 1, 1, 1, 0, 1.0, 1.0, 2.0, 0, 2, 1),
        ("2026-10-01", "window"): (0, 0, 0, 0, 1, 0, 1, 3.0, 3.0, 2.0, 2, 1, 1),
        ("2026-09-01", "online"): (1, 1, 0, 1, 1, 1, 0, 1.0, 1.0, 1.0, 0, 0, 1),
    }
