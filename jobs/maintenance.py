"""Lakehouse upkeep: compaction (Z-ordered by subject where windows look subjects up), vacuum that
keeps the audit window's time travel, and restoring a table to an earlier version.

Each function takes one table; `jobs.pipeline.maintain_lakehouse` decides which tables need it and
runs after the build in the same DAG, so a table still has one writer at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

# A table is compacted once it has this many files; fewer are not worth a rewrite.
COMPACT_FROM_FILES = 16
# Vacuum at most this often: listing a table's files is not free on object storage.
VACUUM_EVERY = dt.timedelta(days=7)


@dataclass(frozen=True)
class Upkeep:
    table: str
    files_before: int
    files_after: int
    zorder_by: tuple[str, ...]
    vacuumed: bool


# When the hub last vacuumed the table, kept as a table property so one `DESCRIBE DETAIL` tells
# all upkeep needs to know.
LAST_VACUUM = "hub.lastVacuumAt"


def retention_properties(days: int) -> dict[str, str]:
    """Keep the log and removed files for `days`, so time travel reaches back over the audit window."""
    return {
        "delta.logRetentionDuration": f"interval {days} days",
        "delta.deletedFileRetentionDuration": f"interval {days} days",
    }


def set_properties(spark: SparkSession, uri: str, properties: dict[str, str]) -> None:
    listed = ", ".join(f"'{k}' = '{v}'" for k, v in properties.items())
    spark.sql(f"ALTER TABLE delta.`{uri}` SET TBLPROPERTIES ({listed})")


def compact(spark: SparkSession, uri: str, zorder_by: tuple[str, ...] = ()) -> None:
    optimizer = DeltaTable.forPath(spark, uri).optimize()
    if zorder_by:
        optimizer.executeZOrderBy(*zorder_by)
    else:
        optimizer.executeCompaction()


def upkeep(
    spark: SparkSession,
    name: str,
    uri: str,
    *,
    retention_days: int,
    zorder_by: tuple[str, ...] = (),
    keep: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> Upkeep:
    """Keep the audit window and the table properties in `keep`; compact the table if it has many
    files; vacuum it once a week.

    A vacuum only removes files unreferenced for longer than the retention, so a table younger
    than a week has nothing to vacuum yet.
    """
    moment = now or dt.datetime.now()
    table = DeltaTable.forPath(spark, uri)
    detail = table.detail().select("numFiles", "properties", "createdAt").first()
    assert detail is not None
    files, properties, created = detail[0], detail[1] or {}, detail[2]
    wanted = retention_properties(retention_days) | (keep or {})
    if any(properties.get(k) != v for k, v in wanted.items()):
        set_properties(spark, uri, wanted)
    compacted = files >= COMPACT_FROM_FILES
    if compacted:
        compact(spark, uri, zorder_by)
    last = dt.datetime.fromisoformat(properties[LAST_VACUUM]) if LAST_VACUUM in properties else created
    due = moment - last >= VACUUM_EVERY
    if due:
        table.vacuum(retention_days * 24)
        set_properties(spark, uri, {LAST_VACUUM: moment.isoformat(timespec="seconds")})
    after = table.detail().select("numFiles").collect()[0][0] if compacted else files
    return Upkeep(name, files, after, zorder_by if compacted else (), due)


def history(spark: SparkSession, uri: str, limit: int = 20) -> list[dict[str, Any]]:
    """The table's latest versions: when, which operation, with what parameters."""
    rows = (
        DeltaTable.forPath(spark, uri)
        .history(limit)
        .select("version", "timestamp", "operation", "operationParameters")
        .collect()
    )
    return [row.asDict() for row in rows]


def restore(spark: SparkSession, uri: str, version: int) -> dict[str, Any]:
    """Make `version` the table's current state again, as a new version (history is kept)."""
    metrics = DeltaTable.forPath(spark, uri).restoreToVersion(version).first()
    return metrics.asDict() if metrics else {}
