"""A build later the same day replaces only the changed subjects' rows (and the changed cases'
facts), and gives the same gold as a full rebuild at that moment."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession

from hub.audit import AuditJournal
from hub.feedback import REUSE_FEEDBACK, ReuseEvent
from hub.feedback import ship as ship_reuse_feedback
from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.simulator import DirtyRates, simulate
from hub.storage import read_table_rows, table_uri
from jobs import pipeline, throughput

pytestmark = pytest.mark.spark

# Two departments that both report applicants' details, with every nested dataset between them;
# the others would add more of the same Spark work (the HTTP one would also need its service).
DEPARTMENTS = ("market_regulation", "food_drug")
SUBJECT_TABLES = ("subject_profile", "material_registry", "supervision_alert", "case_progress")
# The throughput marts are built from the case facts, which are kept up to date incrementally, and
# the windows' reuse events, which are not kept in them.
FACT_TABLES = ("case_facts", "throughput_daily", "throughput_monthly", "reuse_feedback_monthly")
MORNING = dt.datetime(2026, 11, 26, 10, 0, tzinfo=DISTRICT_TIMEZONE)
AFTERNOON = dt.datetime(2026, 11, 26, 15, 0, tzinfo=DISTRICT_TIMEZONE)


def _load(settings: Settings, *days: dt.date) -> None:
    pending: dict[str, list[str]] = {}
    for day in days:
        for department in DEPARTMENTS:
            loaded = pipeline.load_bronze(settings, pipeline.ingest(settings, department, day))
            pending.setdefault(department, []).append(loaded["batch_id"])
    pipeline.publish_catalogue(settings)
    pipeline.conform_silver(settings, pending)


def _snapshot(
    spark: SparkSession, settings: Settings, tables: tuple[str, ...] = SUBJECT_TABLES
) -> dict[str, list[str]]:
    return {
        name: sorted(
            str(row)
            for row in spark.read.format("delta")
            .load(table_uri(settings, "gold", name))
            .drop("built_at")
            .toJSON()
            .collect()
        )
        for name in tables
    }


def _ship_reuse_events(spark: SparkSession, settings: Settings) -> None:
    """A window's word on three of the cases built so far: two copies accepted, one rejected."""
    cases = (
        spark.read.format("delta")
        .load(table_uri(settings, "gold", "case_facts"))
        .orderBy("department", "case_id")
        .select("department", "case_id", "subject_id", "item_code")
        .limit(3)
        .collect()
    )
    journal = AuditJournal.for_kind(settings, REUSE_FEEDBACK)
    for number, (case, decision) in enumerate(zip(cases, ("accepted", "accepted", "rejected"), strict=True)):
        journal.append(
            ReuseEvent(
                event_id=f"event-{number}",
                recorded_at=AFTERNOON.astimezone(dt.UTC),
                occurred_at=MORNING.astimezone(dt.UTC),
                request_id=f"request-{number}",
                client_id=f"{case.department}-client",
                department=case.department,
                purpose="approval_handling",
                subject_id=case.subject_id,
                item_code=case.item_code,
                case_id=case.case_id,
                material_id=f"M-{number}",
                material_type="id_card_copy",
                issuing_department="market_regulation",
                sha256=f"{number:064x}",
                decision=decision,
                reason="illegible" if decision == "rejected" else None,
                note=None,
            )
        )
    journal.close()
    assert ship_reuse_feedback(settings).rows == 3


def _last_operation(spark: SparkSession, uri: str) -> str:
    (last,) = spark.sql(f"DESCRIBE HISTORY delta.`{uri}` LIMIT 1").collect()
    return str(last["operation"])


def test_incremental_build_equals_a_full_rebuild(
    hub_settings: Settings, spark: SparkSession, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path})
    first_day = dt.date(2026, 11, 23)
    simulate(settings, first_day, days=3, seed=12, cases_per_day=40, dirty=DirtyRates.clean())

    # Two days before the first build, so the third day's changes leave some applicants alone.
    _load(settings, first_day, first_day + dt.timedelta(days=1))
    assert pipeline.build_gold(settings, MORNING)["mode"] == "full"
    assert set(pipeline.build_marts(settings, MORNING)["throughput"].values()) == {"full"}
    before = _snapshot(spark, settings)
    facts_before = _snapshot(spark, settings, FACT_TABLES)
    # A mart whose rows to rebuild would hold most of its cases is built whole instead.
    monthly = spark.read.format("delta").load(table_uri(settings, "gold", "throughput_monthly"))
    every_row = throughput.scope_of(monthly.select("period", *throughput.GROUP))
    assert pipeline._mostly_in(settings, "throughput_monthly", every_row)
    assert not pipeline._mostly_in(settings, "throughput_monthly", every_row.limit(0))

    # The next day's records arrive: new subjects, and decisions on cases of earlier ones; windows
    # report what they did with copies on file for cases of the first day.
    _load(settings, first_day + dt.timedelta(days=2))
    # Silver marks the cases it updates deleted rather than copying the rest of their files.
    cases_uri = table_uri(settings, "silver", "case")
    (merge,) = spark.sql(f"DESCRIBE HISTORY delta.`{cases_uri}` LIMIT 1").collect()
    assert merge["operation"] == "MERGE"
    assert int(merge["operationMetrics"]["numTargetRowsUpdated"]) > 0
    assert merge["operationMetrics"]["numTargetRowsCopied"] == "0"
    _ship_reuse_events(spark, settings)
    later = pipeline.build_gold(settings, AFTERNOON)
    assert later["mode"] == "incremental"
    assert 0 < later["subjects_rebuilt"] < later["subjects"]
    incremental = _snapshot(spark, settings)
    assert incremental != before
    # Gold's subject tables took the changed subjects' rows in a MERGE that copied no other row, and
    # delta-rs reads them, deletion vectors and all, as Spark does.
    for name in sorted(pipeline.SUBJECT_TABLES):
        uri = table_uri(settings, "gold", name)
        (merge,) = spark.sql(f"DESCRIBE HISTORY delta.`{uri}` LIMIT 1").collect()
        assert merge["operation"] == "MERGE", name
        assert int(merge["operationMetrics"]["numTargetRowsDeleted"]) > 0, name
        assert merge["operationMetrics"]["numTargetRowsCopied"] == "0", name
        key = "case_id" if name == "case_progress" else "subject_id"
        through_spark = sorted(r[0] for r in spark.read.format("delta").load(uri).select(key).collect())
        assert sorted(r[key] for r in read_table_rows(settings, "gold", name)) == through_spark, name
    # Three days hold too few cases for a touched period to be a small part of a mart, which would
    # then be built whole: here every share is small enough.
    monkeypatch.setattr(pipeline, "WHOLE_FROM_SHARE", 1.0)
    marts = pipeline.build_marts(settings, AFTERNOON)
    # Only the periods the day's changes touched, and the windows' events, are rebuilt.
    assert marts["throughput"] == {"throughput_daily": "incremental", "throughput_monthly": "incremental"}
    facts_uri = table_uri(settings, "gold", "case_facts")
    assert _last_operation(spark, facts_uri) == "MERGE"
    incremental_facts = _snapshot(spark, settings, FACT_TABLES)
    assert incremental_facts != facts_before
    # Nothing changed since: the marts are left as they are.
    assert set(pipeline.build_marts(settings, AFTERNOON)["throughput"].values()) == {"unchanged"}
    assert _snapshot(spark, settings, FACT_TABLES) == incremental_facts

    rebuilt = pipeline.build_gold(settings, AFTERNOON, rebuild=True)
    assert rebuilt["mode"] == "full"
    assert _snapshot(spark, settings) == incremental
    assert pipeline.build_marts(settings, AFTERNOON, rebuild=True)["throughput"] == {
        "throughput_daily": "full",
        "throughput_monthly": "full",
    }
    assert _last_operation(spark, facts_uri) == "WRITE"
    assert _snapshot(spark, settings, FACT_TABLES) == incremental_facts
    assert len(incremental_facts["reuse_feedback_monthly"]) == 1
