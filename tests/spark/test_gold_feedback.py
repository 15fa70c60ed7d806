"""The issuing departments' monthly reuse feedback and the throughput facts corrected by the windows'
word, on seven hand-made reuse events, with the expected rows counted by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from hub.settings import DISTRICT_TIMEZONE
from jobs.feedback import REUSE_EVENT_COLUMNS, reuse_feedback_monthly
from jobs.gold import write_gold
from jobs.throughput import with_window_feedback

pytestmark = pytest.mark.spark

WINDOW = "market_regulation"


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=DISTRICT_TIMEZONE)


def _event(
    event_id: str, at: str, case_id: str | None, material: tuple[str, str, str], *decided: str
) -> tuple[object, ...]:
    material_id, material_type, issuing = material
    decision, reason = (*decided, None)[:2]
    return (event_id, _t(at), _t(at), WINDOW, case_id, material_id, material_type, issuing, decision, reason)


FD_ID = ("FD-1", "id_card_copy", "food_drug")
FD_HEALTH = ("FD-2", "health_certificate", "food_drug")
HR_ID = ("HR-1", "id_card_copy", "human_resources")


@pytest.fixture(scope="module")
def events(spark: SparkSession) -> DataFrame:
    rows = [
        # Half an hour before November in the district (15:30 UTC on 31 Oct): October's.
        _event("e1", "2026-10-31 23:30", "c1", FD_ID, "accepted"),
        # Ten minutes into November in the district, still 31 Oct in UTC: November's.
        _event("e2", "2026-11-01 00:10", "c1", FD_HEALTH, "rejected", "illegible"),
        # The window took the copy, then turned it down an hour later: both count in the feedback,
        # the later decision in the case's facts.
        _event("e3", "2026-11-02 10:00", "c2", FD_ID, "accepted"),
        _event("e4", "2026-11-02 11:00", "c2", FD_ID, "rejected", "expired"),
        _event("e5", "2026-11-03 10:00", None, HR_ID, "rejected", "other"),
        _event("e6", "2026-11-04 10:00", "c3", FD_HEALTH, "rejected", "illegible"),
        _event("e7", "2026-11-05 10:00", "c4", HR_ID, "accepted"),
    ]
    return spark.createDataFrame(rows, REUSE_EVENT_COLUMNS)


def test_the_issuing_departments_monthly_feedback(events: DataFrame) -> None:
    mart = reuse_feedback_monthly(events)
    assert mart.columns == [
        "period",
        "issuing_department",
        "material_type",
        "accepted",
        "rejected",
        "rejected_by_reason",
    ]
    rows = {
        (str(r.period), r.issuing_department, r.material_type): (r.accepted, r.rejected, r.rejected_by_reason)
        for r in mart.collect()
    }
    assert rows == {
        ("2026-10-01", "food_drug", "id_card_copy"): (1, 0, {}),
        ("2026-11-01", "food_drug", "health_certificate"): (0, 2, {"illegible": 2}),
        ("2026-11-01", "food_drug", "id_card_copy"): (1, 1, {"expired": 1}),
        ("2026-11-01", "human_resources", "id_card_copy"): (1, 1, {"other": 1}),
    }


def test_the_mart_reads_the_same_through_delta_rs(events: DataFrame, tmp_path: Path) -> None:
    uri = str(tmp_path / "reuse_feedback_monthly")
    write_gold(reuse_feedback_monthly(events), uri)
    rows = DeltaTable(uri).to_pyarrow_table().to_pylist()
    by_key = {(str(r["period"]), r["issuing_department"], r["material_type"]): r for r in rows}
    assert len(rows) == 4
    assert dict(by_key["2026-11-01", "food_drug", "health_certificate"]["rejected_by_reason"]) == {
        "illegible": 2
    }


def test_no_events_make_an_empty_mart(spark: SparkSession) -> None:
    assert reuse_feedback_monthly(spark.createDataFrame([], REUSE_EVENT_COLUMNS)).isEmpty()


def test_the_windows_word_corrects_the_reuse_the_records_imply(
    spark: SparkSession, events: DataFrame
) -> None:
    facts = spark.createDataFrame(
        [
            # (department, case_id, channel, materials_reused from the records, visits_saved)
            (WINDOW, "c1", "window", 0, 0),
            (WINDOW, "c2", "window", 2, 1),
            (WINDOW, "c3", "window", 1, 0),
            (WINDOW, "c4", "online", 0, 1),
            (WINDOW, "c5", "window", 3, 1),
            # Another department's case of the same number: not the window's case.
            ("health", "c1", "window", 2, 0),
        ],
        "department string, case_id string, channel string, materials_reused bigint, visits_saved int",
    )
    corrected = with_window_feedback(facts, events)
    assert corrected.dtypes == facts.dtypes
    rows = {
        (r.department, r.case_id): (r.channel, r.materials_reused, r.visits_saved)
        for r in corrected.collect()
    }
    assert rows == {
        # One copy accepted (counts though the records saw none), one rejected (a paper to bring).
        (WINDOW, "c1"): ("window", 1, 0),
        # Its last word on FD-1 is a rejection: one off the records' two.
        (WINDOW, "c2"): ("window", 1, 1),
        (WINDOW, "c3"): ("window", 0, 0),
        # Accepted, nothing rejected: a trip to fetch papers saved besides applying online.
        (WINDOW, "c4"): ("online", 1, 2),
        (WINDOW, "c5"): ("window", 3, 1),
        ("health", "c1"): ("window", 2, 0),
    }
