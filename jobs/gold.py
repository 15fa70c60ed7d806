"""Gold: the unified subject profile and the material registry, across every department.

Pure DataFrame functions; `as_of` (a timestamp column) is the moment validity is judged at, so a
build is reproducible for a given moment. Validity goes by the day (`valid_on`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from hub.working_days import WorkingCalendar
from quality.row_rules import CalendarArrays

# The risk_tier code list, lowest first: a subject's tier is the highest of its items'.
RISK_TIERS = ("low", "general", "high")


def _source() -> Column:
    """Lineage of a silver row back to its bronze record."""
    return F.struct(
        F.col("_batch_id").alias("batch_id"),
        F.col("_source_file").alias("file"),
        F.col("_source_line").alias("line"),
    )


def material_registry(materials: DataFrame, as_of: Column) -> DataFrame:
    """For each subject and material type, the material a window can reuse at `as_of`.

    It must still be valid under its type's rule (`valid_until`, set by the issuing rule: an ID
    card copy until the ID expires, a lease until its end, a health certificate for a year; none
    while the holder exists). Among those, one a department accepted comes before one it turned
    down, then the newest. `submissions` counts how often the subject handed in that same file
    (by sha256), the papers the registry saves them from bringing again.
    """
    valid = materials.where(F.col("valid_until").isNull() | (F.col("valid_until") >= F.to_date(as_of)))
    best_first = Window.partitionBy("subject_id", "material_type").orderBy(
        F.col("accepted").desc_nulls_last(),
        F.col("submitted_at").desc(),
        F.col("department"),
        F.col("material_id"),
    )
    same_file = Window.partitionBy("subject_id", "sha256")
    return (
        valid.withColumn("submissions", F.count("*").over(same_file))
        .withColumn("_rank", F.row_number().over(best_first))
        .where("_rank = 1")
        .select(
            "subject_id",
            "material_type",
            "material_id",
            "department",
            "case_id",
            "file_object_key",
            "sha256",
            "issued_by_department",
            "accepted",
            "submitted_at",
            "valid_until",
            "submissions",
            _source().alias("source"),
            F.to_date(as_of).alias("valid_on"),
        )
    )


def _certificates_held(certificates: DataFrame, as_of: Column) -> DataFrame:
    in_force = (
        (F.col("status") == "valid")
        & (F.col("valid_from") <= F.to_date(as_of))
        & (F.col("valid_until").isNull() | (F.col("valid_until") >= F.to_date(as_of)))
    )
    # Newest first: the struct sorts by its first field.
    held = F.struct(
        "issued_at",
        "certificate_id",
        "certificate_type",
        "issuing_department",
        "valid_from",
        "valid_until",
        "status",
        in_force.alias("in_force"),
        "case_id",
    )
    return certificates.groupBy("subject_id").agg(
        F.sort_array(F.collect_list(held), asc=False).alias("certificates")
    )


def _materials_on_file(registry: DataFrame) -> DataFrame:
    on_file = F.struct(
        "material_type",
        "material_id",
        "department",
        "file_object_key",
        "sha256",
        "accepted",
        "valid_until",
    )
    return registry.groupBy("subject_id").agg(
        F.sort_array(F.collect_list(on_file)).alias("materials_on_file")
    )


def _open_alerts(alerts: DataFrame) -> DataFrame:
    standing = F.struct("rule", "department", "case_id", "raised_at")
    return (
        alerts.where(F.col("cleared_at").isNull())
        .groupBy(F.col("subject_id"))
        .agg(F.sort_array(F.collect_list(standing)).alias("open_alerts"))
    )


def _names_by_department(cases: DataFrame) -> DataFrame:
    newest_first = Window.partitionBy("subject_id", "department").orderBy(F.col("received_at").desc())
    named = F.struct("department", F.col("subject_name").alias("name"), F.col("received_at").alias("seen_at"))
    return (
        cases.withColumn("_rank", F.row_number().over(newest_first))
        .where("_rank = 1")
        .groupBy("subject_id")
        .agg(F.sort_array(F.collect_list(named)).alias("names_by_department"))
    )


def _identity(subjects: DataFrame, sharing_classes: Mapping[str, str]) -> DataFrame:
    """Per subject, every department's latest value of each identity attribute, side by side.

    Each entry keeps its department, when the department last changed it and its sharing class,
    so a reader can show a field only to those its class allows (a not-shared value only to the
    department that reported it), and the attributes on which departments disagree are listed.
    """
    entries = F.filter(
        F.array(
            *[
                F.struct(
                    F.lit(name).alias("field"),
                    F.col(name).cast("string").alias("value"),
                    F.lit(sharing_class).alias("sharing_class"),
                    F.col("department"),
                    F.col("updated_at"),
                    _source().alias("source"),
                )
                for name, sharing_class in sharing_classes.items()
            ]
        ),
        lambda entry: entry["value"].isNotNull(),
    )
    values = subjects.select("subject_id", F.explode(entries).alias("entry"))
    disagreeing = values.groupBy("subject_id", "entry.field").agg(
        F.count_distinct("entry.value").alias("values")
    )
    return (
        values.groupBy("subject_id")
        .agg(F.sort_array(F.collect_list("entry")).alias("identity"))
        .join(
            disagreeing.where("values > 1")
            .groupBy("subject_id")
            .agg(F.collect_list("field").alias("identity_conflicts")),
            "subject_id",
            "left",
        )
    )


def _represented_entities(reported: DataFrame) -> DataFrame:
    """For a person, the entities whose representative (the newest a department reported) they are."""
    return (
        reported.where(F.col("legal_representative_id").isNotNull())
        .groupBy(F.col("legal_representative_id").alias("subject_id"))
        .agg(F.sort_array(F.collect_list("subject_id")).alias("represented_entities"))
    )


def subject_profile(
    cases: DataFrame,
    *,
    subjects: DataFrame,
    sharing_classes: Mapping[str, str],
    certificates: DataFrame,
    registry: DataFrame,
    alerts: DataFrame,
    items: DataFrame,
    as_of: Column,
) -> DataFrame:
    """One row per subject: identity, the departments it dealt with, its cases newest first, the
    certificates it holds, the materials on file, its open supervision alerts and risk tier.

    The name shown is the one from the most recent case, since departments spell names
    differently and the latest record is the one the applicant last confirmed; each department's
    latest name is kept beside it (`names_by_department`), and an attribute the departments
    disagree on is listed in `conflicts` instead of being silently overwritten. `subjects` holds
    each department's view of a subject (silver.subject, whole: a person's profile lists the
    entities they represent), and `identity` each of its attributes in `sharing_classes` as every
    department reported it. `alerts` carries `subject_id`. The risk tier is the highest of the
    items the subject applied for.
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
        "promised_deadline",
        _source().alias("source"),
    )
    risk_rank = F.create_map(*[F.lit(x) for rank, tier in enumerate(RISK_TIERS) for x in (tier, rank)])
    with_risk = cases.join(F.broadcast(items.select("item_code", "risk_tier")), "item_code", "left")
    disagreeing = F.filter(
        F.array(*[F.when(F.count_distinct(c) > 1, F.lit(c)) for c in ("subject_name", "subject_type")]),
        lambda attribute: attribute.isNotNull(),
    )
    profiles = with_risk.groupBy("subject_id").agg(
        F.max_by("subject_type", "received_at").alias("subject_type"),
        F.max_by("subject_name", "received_at").alias("subject_name"),
        F.sort_array(F.collect_set("department")).alias("departments"),
        F.count("*").alias("case_count"),
        F.count_if(F.col("status") == "accepted").alias("open_case_count"),
        F.sort_array(F.collect_list(case_struct), asc=False).alias("cases"),
        F.max_by("risk_tier", risk_rank[F.col("risk_tier")]).alias("risk_tier"),
        F.max(F.greatest("received_at", F.coalesce("decided_at", "received_at"))).alias("last_activity_at"),
        F.max("updated_at").alias("last_updated_at"),
        disagreeing.alias("case_conflicts"),
    )
    # A department's record of the applicant reaches silver even while the case it came with is
    # quarantined, so a subject may be known from its details alone.
    reported = subjects.groupBy("subject_id").agg(
        F.max_by("subject_type", "updated_at").alias("_reported_type"),
        F.max_by("name", "updated_at").alias("_reported_name"),
        F.collect_set("department").alias("_reported_by"),
        F.max("updated_at").alias("_reported_at"),
        F.max_by(
            "legal_representative_id",
            F.when(F.col("legal_representative_id").isNotNull(), F.col("updated_at")),
        ).alias("legal_representative_id"),
    )
    none = F.array().cast("array<string>")
    return (
        profiles.join(reported, "subject_id", "full")
        .join(_identity(subjects, sharing_classes), "subject_id", "left")
        .join(_represented_entities(reported), "subject_id", "left")
        .join(_certificates_held(certificates, as_of), "subject_id", "left")
        .join(_materials_on_file(registry), "subject_id", "left")
        .join(_open_alerts(alerts), "subject_id", "left")
        .join(_names_by_department(cases), "subject_id", "left")
        .select(
            "subject_id",
            F.coalesce("subject_type", "_reported_type").alias("subject_type"),
            F.coalesce("subject_name", "_reported_name").alias("subject_name"),
            F.array_sort(
                F.array_union(F.coalesce("departments", none), F.coalesce("_reported_by", none))
            ).alias("departments"),
            F.coalesce("case_count", F.lit(0)).alias("case_count"),
            F.coalesce("open_case_count", F.lit(0)).alias("open_case_count"),
            F.coalesce("cases", F.array()).alias("cases"),
            F.coalesce("certificates", F.array()).alias("certificates"),
            F.coalesce("materials_on_file", F.array()).alias("materials_on_file"),
            F.coalesce("open_alerts", F.array()).alias("open_alerts"),
            F.coalesce("identity", F.array()).alias("identity"),
            "legal_representative_id",
            F.coalesce("represented_entities", F.array()).alias("represented_entities"),
            F.coalesce("names_by_department", F.array()).alias("names_by_department"),
            F.array_sort(
                F.array_union(F.coalesce("case_conflicts", none), F.coalesce("identity_conflicts", none))
            ).alias("conflicts"),
            "risk_tier",
            "last_activity_at",
            F.greatest("last_updated_at", "_reported_at").alias("last_updated_at"),
            F.to_date(as_of).alias("valid_on"),
        )
        .withColumn("built_at", F.current_timestamp())
    )


WORKING_CALENDAR_SCHEMA = "day date, is_working_day boolean, day_kind string, working_day_ordinal int"


def working_calendar_rows(calendar: WorkingCalendar) -> list[tuple[dt.date, bool, str, int]]:
    """Every day the time-limit computations cover (`CalendarArrays`): whether it is worked, why, and
    the count of working days up to it (so a span in working days is a difference of two ordinals)."""
    arrays = CalendarArrays.of(calendar)
    rows = []
    for offset, ordinal in enumerate(arrays.ordinal_of_offset):
        day = arrays.first + dt.timedelta(days=offset)
        working = calendar.is_working_day(day)
        if day in calendar.working_weekend_days:
            kind = "swapped_working_day"
        elif day in calendar.holidays:
            kind = "holiday"
        else:
            kind = "workday" if day.weekday() < 5 else "weekend"
        rows.append((day, working, kind, ordinal))
    return rows


CHANGE_DATA_FEED = {"delta.enableChangeDataFeed": "true"}


def write_gold(
    df: DataFrame, table_uri: str, *, deletion_vectors: bool = False, change_data_feed: bool = False
) -> None:
    """Full rebuild as one atomic overwrite: readers see the old or the new version, never a mix.

    Kept readable by delta-rs: no column mapping, and no deletion vectors unless `deletion_vectors`,
    for a table whose rows later MERGEs replace a few at a time (delta-rs reads those with its engine,
    `DeltaTable.scan`, as the API does; its Arrow dataset refuses them). `change_data_feed` records
    the rows later commits change, for a table whose readers follow its changes.
    """
    writer = (
        df.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .option("delta.enableDeletionVectors", str(deletion_vectors).lower())
    )
    if change_data_feed:
        writer = writer.options(**CHANGE_DATA_FEED)
    writer.save(table_uri)
