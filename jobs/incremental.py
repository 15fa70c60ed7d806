"""Incremental gold: which subjects changed since the last build (silver's Change Data Feed), and
replacing exactly their rows in a gold table in one commit.

A build is incremental only on the district day of the last full build: what gold shows also
depends on the day (cards raised at a day's start, materials and certificates valid up to a date),
so the first build of a day is full and later builds that day touch only the subjects whose silver
rows changed.
"""

from __future__ import annotations

from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

DELETE = "_delete"


def table_version(spark: SparkSession, uri: str) -> int | None:
    if not DeltaTable.isDeltaTable(spark, uri):
        return None
    latest = DeltaTable.forPath(spark, uri).history(1).select("version").collect()
    return int(latest[0][0])


def changed_rows(
    spark: SparkSession, uri: str, after_version: int, up_to_version: int | None = None
) -> DataFrame:
    """The rows the table's Change Data Feed records after `after_version` (inserts, updates,
    deletes), up to `up_to_version` when given."""
    reader = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", after_version + 1)
    )
    if up_to_version is not None:
        reader = reader.option("endingVersion", up_to_version)
    return reader.load(uri)


def restored_since(spark: SparkSession, uri: str, after_version: int) -> bool:
    """Whether the table was restored to an earlier version after `after_version`: its change feed
    does not describe that as changed rows."""
    operations = DeltaTable.forPath(spark, uri).history().where(F.col("version") > after_version)
    return not operations.where(F.col("operation") == "RESTORE").isEmpty()


def union_distinct(frames: list[DataFrame]) -> DataFrame:
    return reduce(DataFrame.unionByName, frames).distinct()


def replace_scope(spark: SparkSession, uri: str, rows: DataFrame, keys: list[str], scope: DataFrame) -> None:
    """Make the table's rows whose `scope` columns match a row of `scope` exactly `rows`, in one MERGE.

    Rows of the scope that `rows` no longer has are deleted (a subject whose last material expired
    leaves the registry); every other row is untouched. Readers see the old or the new version.
    """
    target = DeltaTable.forPath(spark, uri)
    scope_columns = scope.columns
    existing = target.toDF().join(scope, scope_columns, "left_semi")
    gone = existing.join(rows.select(*keys), keys, "left_anti")
    source = rows.withColumn(DELETE, F.lit(False)).unionByName(gone.withColumn(DELETE, F.lit(True)))
    columns = rows.columns
    matched = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    (
        target.alias("t")
        .merge(source.alias("s"), matched)
        .whenMatchedDelete(condition=f"s.{DELETE}")
        .whenMatchedUpdate(set={f"`{c}`": f"s.`{c}`" for c in columns})
        .whenNotMatchedInsert(condition=f"NOT s.{DELETE}", values={f"`{c}`": f"s.`{c}`" for c in columns})
        .execute()
    )


def swap_scope(spark: SparkSession, uri: str, rows: DataFrame, scope: DataFrame) -> None:
    """What `replace_scope` does, without matching rows by a key: the scope's rows are deleted and
    `rows` inserted, in one MERGE (each distinct scope row matches the table's rows of it; a row of
    `rows` matches nothing). Nothing is read to find the rows that are gone, and no key need be
    unique (an alert per fee charged). A change feed, in a table that keeps one, records every scope
    row as deleted and inserted, where `replace_scope` records a kept key's row as updated.

    With deletion vectors the table's other rows, in the same files, stay where they are, so the
    commit writes about as much as the scope holds.
    """
    columns = rows.columns
    on_scope = " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in scope.columns)
    source = (
        scope.distinct()
        .withColumn(DELETE, F.lit(True))
        .unionByName(rows.withColumn(DELETE, F.lit(False)), allowMissingColumns=True)
    )
    (
        DeltaTable.forPath(spark, uri)
        .alias("t")
        .merge(source.alias("s"), f"s.{DELETE} AND {on_scope}")
        .whenMatchedDelete()
        .whenNotMatchedInsert(condition=f"NOT s.{DELETE}", values={f"`{c}`": f"s.`{c}`" for c in columns})
        .execute()
    )
