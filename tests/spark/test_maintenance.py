"""Upkeep on a real Delta table: many small appends are compacted (Z-ordered by subject), vacuum keeps
every version of the audit window readable, a restore brings an old version back, and delta-rs
still reads the table after each."""

import datetime as dt

import pytest
from deltalake import DeltaTable as DeltaRsTable
from pyspark.sql import SparkSession

from jobs.maintenance import COMPACT_FROM_FILES, history, restore, upkeep
from jobs.silver import DELETION_VECTORS

pytestmark = pytest.mark.spark


def _append(spark: SparkSession, uri: str, numbers: range) -> None:
    """One version, in many small files."""
    rows = [(f"S{n:03d}", n) for n in numbers]
    df = spark.createDataFrame(rows, "subject_id string, n int").repartition(len(rows) // 2 or 1)
    df.write.format("delta").mode("append").save(uri)


# Not the session's default (90), which new tables get at creation: upkeep must set it.
RETENTION_DAYS = 30


def test_upkeep_compacts_keeps_time_travel_and_restores(spark: SparkSession, tmp_path) -> None:
    uri = str(tmp_path / "material_registry")
    _append(spark, uri, range(4 * COMPACT_FROM_FILES))  # version 0
    _append(spark, uri, range(100, 101))  # version 1
    _append(spark, uri, range(200, 201))  # version 2

    done = upkeep(
        spark, "gold.material_registry", uri, retention_days=RETENTION_DAYS, zorder_by=("subject_id",)
    )
    # A table younger than a week has nothing old enough to vacuum.
    assert done.files_before >= COMPACT_FROM_FILES
    assert (done.files_after, done.zorder_by, done.vacuumed) == (1, ("subject_id",), False)
    week_later = dt.datetime.now() + dt.timedelta(days=8)
    later = upkeep(spark, "gold.material_registry", uri, retention_days=RETENTION_DAYS, now=week_later)
    assert (later.files_before, later.zorder_by, later.vacuumed) == (1, (), True)
    # Vacuumed at that moment: not again the same day.
    assert not upkeep(
        spark, "gold.material_registry", uri, retention_days=RETENTION_DAYS, now=week_later
    ).vacuumed
    properties = spark.sql(f"DESCRIBE DETAIL delta.`{uri}`").collect()[0]["properties"]
    assert properties["delta.deletedFileRetentionDuration"] == f"interval {RETENTION_DAYS} days"
    assert properties["delta.logRetentionDuration"] == f"interval {RETENTION_DAYS} days"

    # Time travel still reaches the first versions: vacuum kept their files.
    expected = [*range(4 * COMPACT_FROM_FILES), 100]
    second = spark.read.format("delta").option("versionAsOf", 1).load(uri)
    assert sorted(r.n for r in second.collect()) == expected

    restore(spark, uri, 1)
    assert sorted(r.n for r in spark.read.format("delta").load(uri).collect()) == expected
    operations = [h["operation"] for h in history(spark, uri)]
    assert operations[0] == "RESTORE"
    assert "OPTIMIZE" in operations
    assert DeltaRsTable(uri).to_pyarrow_table().num_rows == len(expected)


def test_upkeep_turns_on_deletion_vectors_of_a_table_made_without(spark: SparkSession, tmp_path) -> None:
    uri = str(tmp_path / "case")
    _append(spark, uri, range(4))
    upkeep(spark, "silver.case", uri, retention_days=RETENTION_DAYS, keep=DELETION_VECTORS)
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE n = 1")
    (delete,) = spark.sql(f"DESCRIBE HISTORY delta.`{uri}` LIMIT 1").collect()
    # The deleted row is marked, its file kept with the other rows.
    assert int(delete["operationMetrics"]["numDeletionVectorsAdded"]) == 1
    assert sorted(r.n for r in spark.read.format("delta").load(uri).collect()) == [0, 2, 3]
