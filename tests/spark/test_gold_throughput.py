"""Throughput marts on five hand-made cases around the 2026 National Day holiday (1-7 Oct), with the
expected figures counted by hand."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from hub.analyst_marts import ANALYST_MARTS
from hub.settings import DISTRICT_TIMEZONE
from hub.working_days import load_calendar
from jobs.throughput import (
    SIGN,
    by_day,
    by_month,
    case_facts,
    facts_in_scope,
    outside_scope,
    scope_of,
    throughput,
    throughput_since,
    touched_cells,
)
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


EARLIER_CASES = [
    # Promised 2 working days (29, 30 Sep); decided after 1, its result sent by courier.
    _case("c1", "S1", "window", "completed", ("2026-09-28 09:00", "2026-09-29 10:00", "2026-09-30")),
    # Decided on 8 Oct after two supplement rounds: 3 working days used (29, 30 Sep, 8 Oct).
    _case("c2", "S2", "window", "completed", ("2026-09-28 11:00", "2026-10-08 10:00", "2026-09-30")),
    _case("c3", "S3", "window", "not_accepted", ("2026-09-28 12:00", "2026-09-28 12:30", "2026-09-30")),
    # Still open; hands in the same file c1 did.
    _case("c4", "S1", "window", "accepted", ("2026-09-29 09:00", None, "2026-10-09")),
    _case("c5", "S1", "online", "not_permitted", ("2026-09-29 09:00", "2026-09-30 16:00", "2026-09-30")),
]


def _facts(spark: SparkSession, cases: list[tuple[object, ...]]):
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


@pytest.fixture(scope="module")
def facts(spark: SparkSession):
    return _facts(spark, EARLIER_CASES)


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


# The next day: c4 (S1's, open since 29 Sep) decided on 9 Oct, its deadline, and c6 received from S4.
LATER_CASES = [
    *[case for case in EARLIER_CASES if case[0] != "c4"],
    _case("c4", "S1", "window", "completed", ("2026-09-29 09:00", "2026-10-09 10:00", "2026-10-09")),
    _case("c6", "S4", "window", "accepted", ("2026-10-09 09:00", None, "2026-10-16")),
]


@pytest.mark.parametrize(
    ("period", "touched_from", "new_rows"),
    [
        # c4's receipt reads the same, so only 9 Oct is touched: c6 received, c4 decided after 3
        # working days (30 Sep, 8 and 9 Oct) of 3 promised; the backlog carries on from 8 Oct's 1.
        (by_day, "2026-10-09", {("2026-10-09", "window"): (1, 1, 0, 0, 1, 1, 0, 3.0, 3.0, 3.0, 0, 1, 1)}),
        # October's window row gains c6 and c4's decision beside c2's (3 and 3 working days used,
        # 2 and 3 promised); the backlog carries on from September's 2.
        (
            by_month,
            "2026-10-01",
            {("2026-10-01", "window"): (1, 1, 0, 0, 2, 1, 1, 3.0, 3.0, 2.5, 2, 1, 1)},
        ),
    ],
)
def test_touched_periods_rebuilt_equal_a_whole_rebuild(
    spark: SparkSession, facts, period, touched_from: str, new_rows
) -> None:
    later = _facts(spark, LATER_CASES)
    changed = ["c4", "c6"]
    changes = (
        later.where(later.case_id.isin(changed))
        .withColumn(SIGN, F.lit(1))
        .unionByName(facts.where(facts.case_id.isin(changed)).withColumn(SIGN, F.lit(-1)))
    )
    built = spark.createDataFrame(throughput(facts, period).collect(), throughput(facts, period).schema)

    scope = scope_of(touched_cells(changes, period))
    assert [(r.channel, str(r._from)) for r in scope.collect()] == [("window", touched_from)]
    rows = throughput_since(facts_in_scope(later, period, scope), period, scope, built)
    assert set(_rows(rows)) == set(new_rows)
    updated = outside_scope(built, scope).unionByName(rows)
    assert _rows(updated) == _rows(built) | new_rows
    assert _rows(updated) == _rows(throughput(later, period))
