"""Throughput marts for analysts and managers: what came in, what was decided and how fast, per
period (day or month) x department x item x channel x handling tier.

- `received`, `accepted` count cases by the period they were received in; `decided`, `on_time`,
  `overdue` and the working-day figures by the period they were decided in.
- Working days used run from the case's start (the working day of receipt, or the next one) to the
  day of decision, counted with the hub's calendar; `promised` is the same count to its deadline.
- `backlog` is the cases received but not decided at the end of the period (for the groups and
  periods that had any activity).
- `supplement_requests` counts the supplement rounds of the cases decided in the period;
  `materials_reused` the materials of cases received in the period that the subject had handed in
  before (the same file, by sha256, in any department); `visits_saved` the cases received in the
  period through a channel that needs no trip to a window, plus results delivered by courier.
- Where windows said what they did with the materials on file (`feedback/reuse_event`, see
  `with_window_feedback`), their word corrects `materials_reused` and adds to `visits_saved`.
- `subjects` is how many distinct applicants the row's smaller side covers (see `throughput`), so
  small cells can be suppressed before analysts see them (`hub/analyst_marts.py`).

`case_facts` is kept as `gold/case_facts` (see `jobs/pipeline.build_case_facts`), so a build after a
small change recomputes only the changed cases' facts. The marts then rebuild only the cells those
changes touch (`touched_cells`), each touched group from its earliest touched period on
(`throughput_since`), since a row's backlog follows from the periods before it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from operator import and_

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from quality.row_rules import CalendarArrays

GROUP = ["department", "item_code", "channel", "handling_tier"]
NO_VISIT_CHANNELS = ("online", "wechat", "courier")
DECIDED = ("completed", "not_permitted")


def case_facts(
    cases: DataFrame,
    *,
    events: DataFrame,
    materials: DataFrame,
    deliveries: DataFrame,
    calendar: CalendarArrays,
) -> DataFrame:
    """One row per case with what the marts count about it."""
    start = F.col("_start")
    supplements = (
        events.where(F.col("event_type") == "supplement_requested")
        .groupBy("department", "case_id")
        .agg(F.count("*").alias("supplement_requests"))
    )
    first_seen = Window.partitionBy("subject_id", "sha256").orderBy(
        "submitted_at", "department", "material_id"
    )
    reused = (
        materials.withColumn("_nth", F.row_number().over(first_seen))
        .where(F.col("_nth") > 1)
        .groupBy("department", "case_id")
        .agg(F.count("*").alias("materials_reused"))
    )
    delivered = (
        deliveries.where(F.col("direction") == "delivery")
        .select("department", "case_id", F.lit(1).alias("result_delivered"))
        .distinct()
    )
    decided = F.col("status").isin(*DECIDED)
    return (
        cases.withColumn("_start", calendar.start_ordinal(F.to_date("received_at")))
        .join(supplements, ["department", "case_id"], "left")
        .join(reused, ["department", "case_id"], "left")
        .join(delivered, ["department", "case_id"], "left")
        .select(
            *GROUP,
            "case_id",
            "subject_id",
            F.col("received_at"),
            F.when(decided, F.col("decided_at")).alias("decided_at"),
            (F.col("status") != "not_accepted").alias("accepted"),
            F.when(decided, calendar.ordinal(F.to_date("decided_at")) - start).alias("working_days"),
            (calendar.ordinal(F.col("promised_deadline")) - start).alias("promised_days"),
            F.when(decided, F.to_date("decided_at") <= F.col("promised_deadline")).alias("on_time"),
            F.coalesce("supplement_requests", F.lit(0)).alias("supplement_requests"),
            F.coalesce("materials_reused", F.lit(0)).alias("materials_reused"),
            (
                F.col("channel").isin(*NO_VISIT_CHANNELS).cast("int")
                + F.coalesce("result_delivered", F.lit(0))
            ).alias("visits_saved"),
        )
    )


def with_window_feedback(facts: DataFrame, events: DataFrame) -> DataFrame:
    """The case facts with the windows' reuse events applied; the same columns.

    The records alone say a material was reused when the subject handed in the same file before;
    they cannot say whether the window really took the copy on file. A case the window sent reuse
    events for (its department's case, by `case_id`) counts, per material, the window's latest
    decision:

    - `materials_reused` is at least the materials the window accepted (a confirmed reuse counts
      even when the applicant never handed that file in elsewhere), and each material it rejected
      takes one off what the records imply (the applicant had to bring it after all):
      greatest(accepted, records - rejected, 0).
    - `visits_saved` gains one when the window accepted at least one copy and rejected none: the
      applicant did not have to fetch and bring papers. A rejection means a paper to bring, so
      no trip is counted as saved for it. Cases without events count as before.
    """
    latest_first = Window.partitionBy("department", "case_id", "issuing_department", "material_id").orderBy(
        F.desc("occurred_at"), F.desc("recorded_at"), F.desc("event_id")
    )
    per_case = (
        events.where(F.col("case_id").isNotNull())
        .withColumn("_nth", F.row_number().over(latest_first))
        .where(F.col("_nth") == 1)
        .groupBy("department", "case_id")
        .agg(
            F.count_if(F.col("decision") == "accepted").alias("_confirmed"),
            F.count_if(F.col("decision") == "rejected").alias("_rejected"),
        )
    )
    told = F.col("_confirmed").isNotNull()
    reused = F.greatest(F.col("_confirmed"), F.col("materials_reused") - F.col("_rejected"), F.lit(0))
    saved = F.when(told & (F.col("_confirmed") > 0) & (F.col("_rejected") == 0), 1).otherwise(0)
    types = dict(facts.dtypes)
    replaced = {
        "materials_reused": F.when(told, reused).otherwise(F.col("materials_reused")),
        "visits_saved": F.col("visits_saved") + saved,
    }
    return facts.join(per_case, ["department", "case_id"], "left").select(
        *[replaced[c].cast(types[c]).alias(c) if c in replaced else F.col(c) for c in facts.columns]
    )


Period = Callable[[Column], Column]


def by_day(moment: Column) -> Column:
    return F.to_date(moment)


def by_month(moment: Column) -> Column:
    return F.trunc(F.to_date(moment), "month")


def throughput(facts: DataFrame, period: Period) -> DataFrame:
    """The mart at one grain: `period` maps a timestamp to the first day of its period."""
    return _with_backlog(_cells(facts, period))


def _cells(facts: DataFrame, period: Period) -> DataFrame:
    """The mart's rows without the backlog, with each side's distinct applicants."""
    keys = ["period", *GROUP]
    came_in = (
        facts.withColumn("period", period(F.col("received_at")))
        .groupBy(*keys)
        .agg(
            F.count("*").alias("received"),
            F.count_if("accepted").alias("accepted"),
            F.sum("materials_reused").alias("materials_reused"),
            F.sum("visits_saved").alias("visits_saved"),
            F.count_distinct("subject_id").alias("_subjects_in"),
        )
    )
    went_out = (
        facts.where(F.col("decided_at").isNotNull())
        .withColumn("period", period(F.col("decided_at")))
        .groupBy(*keys)
        .agg(
            F.count("*").alias("decided"),
            F.count_if("on_time").alias("on_time"),
            F.count_if(~F.col("on_time")).alias("overdue"),
            F.percentile("working_days", 0.5).alias("median_working_days"),
            F.percentile("working_days", 0.9).alias("p90_working_days"),
            F.percentile("promised_days", 0.5).alias("median_promised_days"),
            F.sum("supplement_requests").alias("supplement_requests"),
            F.count_distinct("subject_id").alias("_subjects_out"),
        )
    )
    return came_in.join(went_out, keys, "full").fillna(0, subset=[*COUNTS, "supplement_requests"])


COUNTS = ["received", "accepted", "materials_reused", "visits_saved", "decided", "on_time", "overdue"]
OPENING = "_opening_backlog"


def _with_backlog(cells: DataFrame) -> DataFrame:
    """The mart's rows from `_cells`; a backlog carried over from periods before the cells is in
    their `OPENING` column when they have one."""
    # A row joins two different sets of cases (received in the period, decided in it), and each
    # measure covers one of them, so the row is only as safe as its smaller side: `least` skips the
    # side a row has no cases on (its measures are zeros and nulls, about no one). The greater of
    # the two would let a median of two decisions through beside fifty cases received.
    subjects = F.least("_subjects_in", "_subjects_out").cast("long")
    so_far = Window.partitionBy(*GROUP).orderBy("period").rowsBetween(Window.unboundedPreceding, 0)
    opening = F.coalesce(F.col(OPENING), F.lit(0)) if OPENING in cells.columns else F.lit(0)
    # Refused at intake never enters the backlog; every other case leaves it when decided.
    backlog = opening + F.sum(F.col("accepted") - F.col("decided")).over(so_far)
    return cells.select(
        "period",
        *GROUP,
        *[F.col(c).cast("long").alias(c) for c in COUNTS],
        "median_working_days",
        "p90_working_days",
        "median_promised_days",
        F.col("supplement_requests").cast("long").alias("supplement_requests"),
        backlog.cast("long").alias("backlog"),
        subjects.alias("subjects"),
    )


# Columns of a fact change (see `touched_cells`): +1 for a case's facts now, -1 for what they were.
SIGN = "_sign"
FROM = "_from"
# What a case adds to the cell of the period it was received in, and to that of its decision.
RECEIVED_SIDE = ["case_id", "subject_id", "accepted", "materials_reused", "visits_saved"]
DECIDED_SIDE = ["case_id", "subject_id", "on_time", "working_days", "promised_days", "supplement_requests"]


def touched_cells(changes: DataFrame, period: Period) -> DataFrame:
    """The (period, group) cells whose figures the changed facts move: `changes` holds facts rows
    with `SIGN`, +1 for what a case is now and -1 for what it was (a Change Data Feed's post- and
    pre-images). A side of a case that reads the same before and after moves nothing."""

    def side(moment: str, columns: list[str]) -> DataFrame:
        return (
            changes.where(F.col(moment).isNotNull())
            .withColumn("period", period(F.col(moment)))
            .groupBy("period", *GROUP, *columns)
            .agg(F.sum(SIGN).alias("_net"))
            .where(F.col("_net") != 0)
            .select("period", *GROUP)
        )

    return side("received_at", RECEIVED_SIDE).unionByName(side("decided_at", DECIDED_SIDE)).distinct()


def _on_group(left: str, right: str) -> Column:
    # A case's handling tier may be unknown: null-safe, so such a group still matches itself.
    return reduce(and_, [F.col(f"{left}.{c}").eqNullSafe(F.col(f"{right}.{c}")) for c in GROUP])


def facts_in_scope(facts: DataFrame, period: Period, scope: DataFrame) -> DataFrame:
    """The facts that `throughput_since` aggregates: those received or decided in a period at or
    after their group's `FROM` in `scope` (see `scope_of`)."""
    since = F.col(FROM)
    return (
        facts.alias("f")
        .join(F.broadcast(scope).alias("s"), _on_group("f", "s"))
        .where((period(F.col("f.received_at")) >= since) | (period(F.col("f.decided_at")) >= since))
        .select("f.*")
    )


def throughput_since(facts: DataFrame, period: Period, scope: DataFrame, mart: DataFrame) -> DataFrame:
    """The rows to put in place of the mart's rows at or after each group's earliest touched period
    (`FROM` in `scope`), from `facts_in_scope`; the same columns as `throughput`.

    Every later row of a group owes its backlog to the periods before, so they are all rebuilt,
    the backlog carrying on from the mart's last row before `FROM`.
    """
    scope = F.broadcast(scope).alias("s")
    opening = (
        mart.alias("m")
        .join(scope, _on_group("m", "s"))
        .where(F.col("m.period") < F.col(FROM))
        .groupBy(*[F.col(f"m.{c}").alias(c) for c in GROUP])
        .agg(F.max_by("m.backlog", "m.period").alias(OPENING))
    )
    cells = (
        _cells(facts, period)
        .alias("c")
        .join(scope, _on_group("c", "s"))
        .where(F.col("c.period") >= F.col(FROM))
        .select("c.*")
        .alias("c")
        .join(opening.alias("o"), _on_group("c", "o"), "left")
        .select("c.*", OPENING)
    )
    return _with_backlog(cells)


def outside_scope(mart: DataFrame, scope: DataFrame) -> DataFrame:
    """The mart's rows that `throughput_since` leaves as they are."""
    inside = _on_group("m", "s") & (F.col("m.period") >= F.col(FROM))
    return mart.alias("m").join(F.broadcast(scope).alias("s"), inside, "left_anti")


def scope_of(touched: DataFrame) -> DataFrame:
    """Each group of the `touched_cells` with its earliest touched period, `FROM`."""
    return touched.groupBy(*GROUP).agg(F.min("period").alias(FROM))


def covering_months(scopes: list[DataFrame]) -> DataFrame:
    """One scope, by month, whose `facts_in_scope(facts, by_month, ...)` holds every fact that
    `facts_in_scope` takes for any of `scopes`, of any period no longer than a month."""
    return reduce(DataFrame.unionByName, scopes).groupBy(*GROUP).agg(F.min(by_month(F.col(FROM))).alias(FROM))
