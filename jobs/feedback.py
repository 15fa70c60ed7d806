"""The issuing departments' feedback on their materials' reuse, from the windows' reuse events
(`feedback/reuse_event`, shipped from the API's journal, see `hub/feedback.py`).

`reuse_feedback_monthly`: per month (district time, of when the window decided), issuing department
(whose case the material came with) and material type, how many reuses windows accepted and
rejected, and the rejections by reason, so a department sees which of its papers other windows
turn down and why. Every event counts, a window that changed its mind included (each decision
was made); the table holds each event once (shipping MERGEs on its id).

It is a department's operational report, not an analyst mart: a row counts window decisions on
the department's own papers, not applicants, so it carries no `subjects` and is not suppressed.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# What gold reads of `feedback/reuse_event`; an empty frame of these stands in before the first ship.
REUSE_EVENT_COLUMNS = (
    "event_id string, recorded_at timestamp, occurred_at timestamp, department string, "
    "case_id string, material_id string, material_type string, issuing_department string, "
    "decision string, reason string"
)
GRAIN = ["period", "issuing_department", "material_type"]


def reuse_feedback_monthly(events: DataFrame) -> DataFrame:
    """One row per month x issuing department x material type with any window decision."""
    dated = events.withColumn("period", F.trunc(F.to_date("occurred_at"), "month"))
    rejected = F.col("decision") == "rejected"
    totals = dated.groupBy(*GRAIN).agg(
        F.count_if(F.col("decision") == "accepted").alias("accepted"),
        F.count_if(rejected).alias("rejected"),
    )
    by_reason = (
        dated.where(rejected)
        .groupBy(*GRAIN, "reason")
        .agg(F.count("*").alias("times"))
        .groupBy(*GRAIN)
        .agg(
            F.map_from_entries(F.array_sort(F.collect_list(F.struct("reason", "times")))).alias(
                "rejected_by_reason"
            )
        )
    )
    none = F.create_map().cast("map<string,bigint>")
    return totals.join(by_reason, GRAIN, "left").select(
        *GRAIN,
        F.col("accepted").cast("long").alias("accepted"),
        F.col("rejected").cast("long").alias("rejected"),
        F.coalesce("rejected_by_reason", none).alias("rejected_by_reason"),
    )
