"""Versions of a case resolved by its update time, never by arrival order."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession

from jobs.silver import latest_per_key, upsert

pytestmark = pytest.mark.spark

SCHEMA = "department string, case_id string, status string, updated_at timestamp"
KEY = ["department", "case_id"]


def _t(hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, 20, hour)


def test_newest_version_in_a_batch_wins_whatever_its_position(spark: SparkSession) -> None:
    batch = spark.createDataFrame(
        [
            ("d", "C1", "completed", _t(15)),
            ("d", "C1", "accepted", _t(9)),  # the older state, sent after the newer one
            ("d", "C1", "completed", _t(15)),  # and the newer one again
            ("d", "C2", "accepted", _t(10)),
        ],
        SCHEMA,
    )
    latest = sorted(tuple(r) for r in latest_per_key(batch, KEY, "updated_at").collect())
    assert latest == [("d", "C1", "completed", _t(15)), ("d", "C2", "accepted", _t(10))]


def test_a_late_older_version_never_overwrites_silver(spark: SparkSession, tmp_path) -> None:
    uri = (tmp_path / "case").as_uri()
    upsert(spark, spark.createDataFrame([("d", "C1", "completed", _t(15))], SCHEMA), uri, KEY, "updated_at")
    late = spark.createDataFrame([("d", "C1", "accepted", _t(9)), ("d", "C2", "accepted", _t(9))], SCHEMA)
    upsert(spark, late, uri, KEY, "updated_at")
    newer = spark.createDataFrame([("d", "C2", "completed", _t(16))], SCHEMA)
    upsert(spark, newer, uri, KEY, "updated_at")
    rows = sorted(tuple(r) for r in spark.read.format("delta").load(uri).collect())
    assert rows == [("d", "C1", "completed", _t(15)), ("d", "C2", "completed", _t(16))]


def test_a_rectified_evaluation_is_newer_than_the_same_evaluation_before(
    spark: SparkSession, tmp_path
) -> None:
    schema = "evaluation_id string, score int, evaluated_at timestamp, rectified_at timestamp"
    version = ("evaluated_at", "rectified_at")
    uri = (tmp_path / "evaluation").as_uri()
    given = ("E1", 1, _t(10), None)
    rectified = ("E1", 1, _t(10), _t(17))
    batch = spark.createDataFrame([rectified, given], schema)
    assert [tuple(r) for r in latest_per_key(batch, ["evaluation_id"], version).collect()] == [rectified]
    upsert(spark, spark.createDataFrame([rectified], schema), uri, ["evaluation_id"], version)
    # The state before rectification, sent again late, does not undo it.
    upsert(spark, spark.createDataFrame([given], schema), uri, ["evaluation_id"], version)
    assert [tuple(r) for r in spark.read.format("delta").load(uri).collect()] == [rectified]
