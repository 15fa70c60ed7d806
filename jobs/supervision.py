"""Supervision (效能监察): the monitor points of the reform, raised on cases as pure DataFrame functions.

Each alert names its rule, case, department, when it was raised and when it cleared (null while it
stands). The rules: not accepted, not permitted, repeated supplement requests, permitted with a
required material missing or turned down, a fee on a free item or above standard, and the time
limit cards. Time limits count working days with the hub's calendar (contracts/working_calendar.yaml):

- A case's time starts on the working day of receipt, or the next working day. At the start of the
  working day with ordinal `o` it has used (o - start) / p of its p promised working days; on its
  promised deadline it has used all of them.
- The yellow card is raised at the start of the first working day on which 80% or more is used, if
  the case is still open then; the red card at the start of the day after the deadline. A decision
  clears a card; a red card also replaces the yellow one.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from quality.row_rules import CalendarArrays

YELLOW_SHARE = 0.8
REPEATED_SUPPLEMENT_ROUNDS = 2


def _start_of(day: Column) -> Column:
    return F.to_timestamp(day)


def _open_at(moment: Column) -> Column:
    """The case had not been decided by `moment`."""
    return F.col("decided_at").isNull() | (F.col("decided_at") >= moment)


def _cleared_by_decision(as_of: Column) -> Column:
    return F.when(F.col("decided_at") <= as_of, F.col("decided_at"))


def _stands() -> Column:
    """The cleared time of an alert that stands until a supervisor reviews it."""
    return F.lit(None).cast("timestamp")


def _alerts(
    rows: DataFrame, rule: Column, raised_at: Column, cleared_at: Column, detail: Column
) -> DataFrame:
    """The alert columns, in order, of `rows` (which carry the case's keys)."""
    return rows.select(
        rule.alias("rule"),
        "department",
        "case_id",
        "subject_id",
        "item_code",
        raised_at.alias("raised_at"),
        cleared_at.alias("cleared_at"),
        detail.cast("string").alias("detail"),
    )


def time_limit_cards(cases: DataFrame, calendar: CalendarArrays, as_of: Column) -> DataFrame:
    """Yellow and red cards of committed cases (one promised working day or more)."""
    start = F.col("_start")
    with_limits = (
        cases.where(F.col("promised_deadline").isNotNull())
        .withColumn("_start", calendar.start_ordinal(F.to_date("received_at")))
        .withColumn("_promised", calendar.ordinal(F.col("promised_deadline")) - start)
        .where(F.col("_promised") >= 1)
        .withColumn(
            "_yellow_at",
            _start_of(calendar.day_of_ordinal(start + F.ceil(F.col("_promised") * F.lit(YELLOW_SHARE)))),
        )
        .withColumn("_red_at", _start_of(F.date_add("promised_deadline", 1)))
    )
    red_applies = _open_at(F.col("_red_at")) & (F.col("_red_at") <= as_of)
    red = _alerts(
        with_limits.where(red_applies),
        F.lit("red_card"),
        F.col("_red_at"),
        _cleared_by_decision(as_of),
        F.format_string("overdue: promised by %s", F.col("promised_deadline").cast("string")),
    )
    yellow = _alerts(
        with_limits.where(_open_at(F.col("_yellow_at")) & (F.col("_yellow_at") <= as_of)),
        F.lit("yellow_card"),
        F.col("_yellow_at"),
        F.when(red_applies, F.col("_red_at")).otherwise(_cleared_by_decision(as_of)),
        F.format_string(
            "%d of %d promised working days used, due %s",
            F.ceil(F.col("_promised") * F.lit(YELLOW_SHARE)).cast("int"),
            F.col("_promised"),
            F.col("promised_deadline").cast("string"),
        ),
    )
    return red.unionByName(yellow)


def refusals(cases: DataFrame, as_of: Column) -> DataFrame:
    """Cases not accepted or not permitted: each is reviewed, so each is an alert that stands."""
    refused = cases.where(F.col("status").isin("not_accepted", "not_permitted"))
    raised = F.coalesce("decided_at", "updated_at")
    return _alerts(refused.where(raised <= as_of), F.col("status"), raised, _stands(), F.lit(None))


def repeated_supplements(cases: DataFrame, events: DataFrame, as_of: Column) -> DataFrame:
    """A case asked for supplements twice or more (the reform allows one complete request)."""
    requests = events.where((F.col("event_type") == "supplement_requested") & (F.col("event_at") <= as_of))
    counted = requests.groupBy("department", "case_id").agg(
        F.count("*").alias("_requests"),
        F.sort_array(F.collect_list("event_at")).alias("_times"),
    )
    repeated = counted.where(F.col("_requests") >= REPEATED_SUPPLEMENT_ROUNDS).join(
        cases.select("department", "case_id", "subject_id", "item_code"), ["department", "case_id"]
    )
    return _alerts(
        repeated,
        F.lit("repeated_supplement"),
        F.element_at("_times", REPEATED_SUPPLEMENT_ROUNDS),
        _stands(),
        F.format_string("%d supplement requests", F.col("_requests")),
    )


def fee_violations(cases: DataFrame, events: DataFrame, items: DataFrame, as_of: Column) -> DataFrame:
    """A fee charged on a fee-free item, or above the item's standard."""
    fees = events.where(
        (F.col("event_type") == "fee_charged") & (F.col("fee_amount") > 0) & (F.col("event_at") <= as_of)
    )
    priced = fees.join(
        cases.select("department", "case_id", "subject_id", "item_code"), ["department", "case_id"]
    ).join(items.select("item_code", "fee_free", "fee_standard"), "item_code")
    rule = F.when(F.col("fee_free"), F.lit("fee_on_free_item")).when(
        F.col("fee_amount") > F.col("fee_standard"), F.lit("fee_above_standard")
    )
    return _alerts(
        priced.withColumn("_rule", rule).where(F.col("_rule").isNotNull()),
        F.col("_rule"),
        F.col("event_at"),
        _stands(),
        F.format_string(
            "charged %s, standard %s",
            F.col("fee_amount").cast("string"),
            F.col("fee_standard").cast("string"),
        ),
    )


def decisions_without_required_materials(
    cases: DataFrame, materials: DataFrame, requirements: DataFrame, as_of: Column
) -> DataFrame:
    """A case permitted while a material its item requires was missing (材料不齐), or was handed in
    but turned down at review, so the decision rested on nothing accepted (依据不足).

    One alert per case and rule, naming the material types; a refusal is no such alert, since a
    missing material is a reason to refuse.
    """
    permitted = cases.where((F.col("status") == "completed") & (F.col("decided_at") <= as_of))
    required = permitted.select("department", "case_id", "subject_id", "item_code", "decided_at").join(
        requirements.where("mandatory").select("item_code", "material_type"), "item_code"
    )
    handed_in = materials.groupBy("department", "case_id", "material_type").agg(
        F.bool_or(F.coalesce("accepted", F.lit(False))).alias("_accepted")
    )
    shortfall = F.when(F.col("_accepted").isNull(), F.lit("materials_incomplete")).when(
        ~F.col("_accepted"), F.lit("insufficient_basis")
    )
    short = (
        required.join(handed_in, ["department", "case_id", "material_type"], "left")
        .withColumn("_rule", shortfall)
        .where(F.col("_rule").isNotNull())
        .groupBy("_rule", "department", "case_id", "subject_id", "item_code", "decided_at")
        .agg(F.array_join(F.sort_array(F.collect_list("material_type")), ", ").alias("_types"))
    )
    detail = F.when(F.col("_rule") == "materials_incomplete", F.lit("missing: ")).otherwise(
        F.lit("turned down: ")
    )
    return _alerts(short, F.col("_rule"), F.col("decided_at"), _stands(), F.concat(detail, "_types"))


def supervision_alerts(
    cases: DataFrame,
    *,
    events: DataFrame,
    materials: DataFrame,
    items: DataFrame,
    requirements: DataFrame,
    calendar: CalendarArrays,
    as_of: Column,
) -> DataFrame:
    """Every alert standing or cleared as of `as_of`, one row per rule and case (per fee charged)."""
    parts = [
        time_limit_cards(cases, calendar, as_of),
        refusals(cases, as_of),
        repeated_supplements(cases, events, as_of),
        fee_violations(cases, events, items, as_of),
        decisions_without_required_materials(cases, materials, requirements, as_of),
    ]
    alerts = reduce(DataFrame.unionByName, parts)
    return alerts.withColumn(
        "alert_id",
        F.sha2(F.concat_ws("|", "rule", "department", "case_id", F.col("raised_at").cast("string")), 256),
    )


def monthly_alert_counts(alerts: DataFrame) -> DataFrame:
    """Alerts raised per month, department and rule, how many of them have cleared, and how many
    distinct applicants they concern (`subjects`, for small-cell suppression)."""
    return (
        alerts.groupBy(F.date_format("raised_at", "yyyy-MM").alias("month"), "department", "rule")
        .agg(
            F.count("*").alias("raised"),
            F.count("cleared_at").alias("cleared"),
            F.count_distinct("subject_id").alias("subjects"),
        )
        .orderBy("month", "department", "rule")
    )
