"""Evaluations and consistency on hand-made rows; rectification deadlines counted by hand over the
2026 National Day holiday and the swapped working Saturday 10 Oct."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from hub.analyst_marts import ANALYST_MARTS
from hub.settings import DISTRICT_TIMEZONE
from hub.working_days import load_calendar
from jobs.service_quality import bad_reviews, consistency, evaluation_summary
from quality.row_rules import CalendarArrays

pytestmark = pytest.mark.spark

EVALUATIONS = (
    "evaluation_id string, department string, case_id string, channel string, score int, rating string, "
    "comment string, evaluated_at timestamp, rectified_at timestamp"
)


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=DISTRICT_TIMEZONE)


@pytest.fixture(scope="module")
def evaluations(spark: SparkSession):
    rows = [
        (
            "e1",
            "d",
            "c1",
            "window_device",
            1,
            "very_dissatisfied",
            "排队太久",
            _t("2026-09-24 10:00"),
            _t("2026-10-16 09:00"),
        ),
        ("e2", "d", "c2", "online", 2, "dissatisfied", "材料要求不清", _t("2026-10-09 10:00"), None),
        ("e3", "d", "c3", "online", 1, "very_dissatisfied", None, _t("2026-11-18 10:00"), None),
        ("e4", "d", "c4", "online", 2, "dissatisfied", None, _t("2026-10-09 10:00"), _t("2026-11-02 09:00")),
        ("e5", "d", "c5", "online", 4, "satisfied", None, _t("2026-10-12 10:00"), None),
        ("e6", "d", "c6", "window_device", 5, "very_satisfied", None, _t("2026-09-25 10:00"), None),
    ]
    return spark.createDataFrame(rows, EVALUATIONS)


@pytest.fixture(scope="module")
def reviews(evaluations):
    as_of = F.lit(_t("2026-11-20 12:00"))
    return bad_reviews(evaluations, CalendarArrays.of(load_calendar()), as_of)


def test_bad_reviews_are_due_for_rectification_in_15_working_days(reviews) -> None:
    rows = {r.evaluation_id: (str(r.rectify_by), r.rectification) for r in reviews.collect()}
    assert rows == {
        # 28-30 Sep, 8-10 Oct (10th swapped), 12-16, 19-22 Oct: the 15th working day is 22 Oct.
        "e1": ("2026-10-22", "rectified_in_time"),
        "e2": ("2026-10-29", "overdue"),
        "e3": ("2026-12-09", "open"),
        "e4": ("2026-10-29", "rectified_late"),
    }


def test_satisfaction_per_month_department_and_channel(spark: SparkSession, evaluations, reviews) -> None:
    # c3 is not among the cases: its evaluation counts, its applicant cannot.
    applicants = [
        ("d", "c1", "S1"),
        ("d", "c2", "S2"),
        ("d", "c4", "S2"),
        ("d", "c5", "S3"),
        ("d", "c6", "S1"),
    ]
    cases = spark.createDataFrame(applicants, "department string, case_id string, subject_id string")
    summary = evaluation_summary(evaluations, reviews, cases)
    assert set(summary.columns) == set(ANALYST_MARTS["evaluation_summary"].columns)
    rows = {
        (str(r.month), r.channel): (
            r.evaluations,
            r.mean_score,
            r.satisfied_share,
            r.bad_reviews,
            r.rectified_in_time,
            r.rectified_late_or_overdue,
            r.subjects,
        )
        for r in summary.collect()
    }
    assert rows == {
        ("2026-09-01", "window_device"): (2, 3.0, 0.5, 1, 1, 0, 1),
        ("2026-10-01", "online"): (3, 2.67, 0.3333, 2, 0, 2, 2),
        ("2026-11-01", "online"): (1, 1.0, 0.0, 1, 0, 0, 0),
    }


def test_consistency_flags_the_window_that_refuses_and_the_one_that_is_slow(spark: SparkSession) -> None:
    # Received Mon 2 Nov; decided after 1 (3 Nov), 2 (4 Nov) or 6 working days (10 Nov).
    decided_on = {1: "2026-11-03 15:00", 2: "2026-11-04 15:00", 6: "2026-11-10 15:00"}
    # window: (officer, working days, decisions permitted, decisions refused, distinct applicants)
    plan = {
        "W1": ("O1", 1, 5, 0, 5),
        "W2": ("O2", 2, 4, 1, 2),
        "W4": ("O4", 1, 1, 4, 5),
        "W5": ("O5", 6, 5, 0, 1),
    }
    cases, events = [], []
    for window, (officer, days, permitted, refused, applicants) in plan.items():
        for n in range(permitted + refused):
            case_id, status = f"{window}-{n}", "completed" if n < permitted else "not_permitted"
            received, decided = _t("2026-11-02 09:00"), _t(decided_on[days])
            cases.append((case_id, "d", f"S{n % applicants}", "I", "district", status, received, decided))
            decision = "decided_permitted" if status == "completed" else "decided_not_permitted"
            events.append(("d", case_id, decision, window, officer))
    result = consistency(
        spark.createDataFrame(
            cases,
            "case_id string, department string, subject_id string, item_code string, handling_tier string, "
            "status string, received_at timestamp, decided_at timestamp",
        ),
        spark.createDataFrame(
            events, "department string, case_id string, event_type string, window_id string, actor_id string"
        ),
        CalendarArrays.of(load_calendar()),
    )
    rows = {
        r.window_id: (
            r.decisions,
            r.permit_share,
            r.median_working_days,
            r.outlier_permit_share,
            r.outlier_slow,
            r.subjects,
        )
        for r in result.collect()
    }
    assert set(result.columns) == set(ANALYST_MARTS["consistency"].columns)
    # The item: 15 of 20 permitted (0.75), median 1.5 working days.
    assert rows == {
        "W1": (5, 1.0, 1.0, False, False, 5),
        "W2": (5, 0.8, 2.0, False, False, 2),
        "W4": (5, 0.2, 1.0, True, False, 5),
        "W5": (5, 1.0, 6.0, False, True, 1),
    }
