"""Service quality marts: the applicants' evaluations (好差评) and the consistency of decisions
("no-difference approval": the same item gets the same treatment whoever applies and wherever)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from quality.row_rules import CalendarArrays

SATISFIED = ("very_satisfied", "satisfied", "basically_satisfied")
BAD = ("dissatisfied", "very_dissatisfied")
RECTIFY_WITHIN_WORKING_DAYS = 15
# A window or officer is an outlier for an item when, over at least this many decisions, its share
# permitted differs from the item's by more than OUTLIER_PERMIT_GAP, or its median working days are
# more than twice the item's median and at least OUTLIER_SLOWER_DAYS more.
OUTLIER_MIN_DECISIONS = 5
OUTLIER_PERMIT_GAP = 0.3
OUTLIER_SLOWER_DAYS = 2


def bad_reviews(evaluations: DataFrame, calendar: CalendarArrays, as_of: Column) -> DataFrame:
    """Each bad review, its rectification deadline (15 working days) and where it stands at `as_of`."""
    due = calendar.add_working_days(F.to_date("evaluated_at"), F.lit(RECTIFY_WITHIN_WORKING_DAYS))
    rectified = F.col("rectified_at").isNotNull() & (F.col("rectified_at") <= as_of)
    in_time = rectified & (F.to_date("rectified_at") <= F.col("rectify_by"))
    state = (
        F.when(in_time, "rectified_in_time")
        .when(rectified, "rectified_late")
        .when(F.to_date(as_of) > F.col("rectify_by"), "overdue")
        .otherwise("open")
    )
    return (
        evaluations.where(F.col("rating").isin(*BAD))
        .withColumn("rectify_by", due)
        .select(
            "evaluation_id",
            "department",
            "case_id",
            "channel",
            "rating",
            "comment",
            "evaluated_at",
            "rectify_by",
            F.when(rectified, F.col("rectified_at")).alias("rectified_at"),
            state.alias("rectification"),
        )
    )


def evaluation_summary(evaluations: DataFrame, reviews: DataFrame, cases: DataFrame) -> DataFrame:
    """Satisfaction per month, department and evaluation channel, with the bad reviews' outcome and
    how many distinct applicants evaluated (`subjects`, from their cases, for small-cell
    suppression; an evaluation whose case is unknown counts no one, so the figure never overstates)."""
    applicants = cases.select("department", "case_id", "subject_id")
    keys: list[Column | str] = [
        F.trunc(F.to_date("evaluated_at"), "month").alias("month"),
        "department",
        "channel",
    ]
    rated = (
        evaluations.join(applicants, ["department", "case_id"], "left")
        .groupBy(*keys)
        .agg(
            F.count("*").alias("evaluations"),
            F.round(F.avg("score"), 2).alias("mean_score"),
            F.round(F.count_if(F.col("rating").isin(*SATISFIED)) / F.count("*"), 4).alias("satisfied_share"),
            F.count_distinct("subject_id").alias("subjects"),
        )
    )
    outcome = reviews.groupBy(*keys).agg(
        F.count("*").alias("bad_reviews"),
        F.count_if(F.col("rectification") == "rectified_in_time").alias("rectified_in_time"),
        F.count_if(F.col("rectification").isin("rectified_late", "overdue")).alias(
            "rectified_late_or_overdue"
        ),
    )
    summary: DataFrame = rated.join(outcome, ["month", "department", "channel"], "left").fillna(
        0, subset=["bad_reviews", "rectified_in_time", "rectified_late_or_overdue"]
    )
    return summary


def consistency(cases: DataFrame, events: DataFrame, calendar: CalendarArrays) -> DataFrame:
    """Per item x handling tier x window x officer who decided: decisions, share permitted and working
    days, beside the item's own figures; outliers flagged; `subjects`, the distinct applicants
    decided on, for small-cell suppression."""
    decisions = events.where(F.col("event_type").isin("decided_permitted", "decided_not_permitted")).select(
        "department",
        "case_id",
        "window_id",
        F.col("actor_id").alias("officer_id"),
    )
    decided = (
        cases.where(F.col("status").isin("completed", "not_permitted"))
        .join(decisions, ["department", "case_id"])
        .withColumn(
            "working_days",
            calendar.ordinal(F.to_date("decided_at")) - calendar.start_ordinal(F.to_date("received_at")),
        )
        .withColumn("permitted", (F.col("status") == "completed").cast("int"))
    )
    item = Window.partitionBy("item_code")
    with_item = decided.withColumn("item_permit_share", F.avg("permitted").over(item)).withColumn(
        "item_median_working_days", F.percentile("working_days", 0.5).over(item)
    )
    grouped = with_item.groupBy("item_code", "handling_tier", "window_id", "officer_id").agg(
        F.count("*").alias("decisions"),
        F.round(F.avg("permitted"), 4).alias("permit_share"),
        F.percentile("working_days", 0.5).alias("median_working_days"),
        F.max("working_days").alias("max_working_days"),
        F.round(F.first("item_permit_share"), 4).alias("item_permit_share"),
        F.first("item_median_working_days").alias("item_median_working_days"),
        F.count_distinct("subject_id").alias("subjects"),
    )
    enough = F.col("decisions") >= OUTLIER_MIN_DECISIONS
    return grouped.withColumn(
        "outlier_permit_share",
        enough & (F.abs(F.col("permit_share") - F.col("item_permit_share")) > OUTLIER_PERMIT_GAP),
    ).withColumn(
        "outlier_slow",
        enough
        & (F.col("median_working_days") > 2 * F.col("item_median_working_days"))
        & (F.col("median_working_days") - F.col("item_median_working_days") >= OUTLIER_SLOWER_DAYS),
    )
