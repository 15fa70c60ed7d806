"""Gold: the unified subject profile, one row per subject across every department's cases."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def subject_profile(cases: DataFrame) -> DataFrame:
    """One row per subject: identity, the departments it dealt with, and its cases newest first.

    The name shown is the one from the most recent case, since departments spell names
    differently and the latest record is the one the applicant last confirmed.
    """
    case_struct = F.struct(
        F.col("received_at"),
        "case_id",
        "department",
        "item_code",
        "item_name",
        "channel",
        "status",
        "decided_at",
    )
    return (
        cases.groupBy("subject_id")
        .agg(
            F.max_by("subject_type", "received_at").alias("subject_type"),
            F.max_by("subject_name", "received_at").alias("subject_name"),
            F.sort_array(F.collect_set("department")).alias("departments"),
            F.count("*").alias("case_count"),
            F.sum(F.when(F.col("status") == "accepted", 1).otherwise(0)).alias("open_case_count"),
            F.sort_array(F.collect_list(case_struct), asc=False).alias("cases"),
            F.max(F.greatest("received_at", F.coalesce("decided_at", "received_at"))).alias(
                "last_activity_at"
            ),
        )
        .withColumn("built_at", F.current_timestamp())
    )


def write_gold(df: DataFrame, table_uri: str) -> None:
    """Full rebuild as one atomic overwrite: readers see the old or the new version, never a mix.

    Kept readable by delta-rs: no deletion vectors, no column mapping.
    """
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .option("delta.enableDeletionVectors", "false")
        .save(table_uri)
    )
