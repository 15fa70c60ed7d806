"""The pipeline's steps as plain functions of settings and small arguments.

Airflow tasks (dags/) call these and pass their small JSON results along through XCom; the
CLI and the tests call them directly. Each step reads exactly its batch and is safe to re-run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict
from typing import Any

from pyspark.sql import functions as F

from hub.settings import Settings
from hub.storage import ensure_buckets, landing_store, table_uri
from jobs import bronze, gold, silver
from jobs.departments import load_mappings
from jobs.landing import LandedBatch, LandedFile, land_export
from jobs.spark import get_spark
from quality.contracts import load_code_lists, load_contract
from quality.gx_suite import compile_suite, validate
from quality.row_rules import compile_row_rules

log = logging.getLogger("hub.pipeline")

BRONZE_CASES = ("bronze", "case_record")
SILVER_CASES = ("silver", "case")
QUARANTINE = ("silver", "quarantine")
RECONCILIATION = ("quality", "batch_reconciliation")
GOLD_PROFILE = ("gold", "subject_profile")


class ReconciliationError(RuntimeError):
    """Rows went missing between bronze and silver: the run must fail, not publish."""


class QualityGateError(RuntimeError):
    """The batch-level GX suite failed on what reached silver."""


def land(settings: Settings, department: str, day: dt.date) -> dict[str, Any]:
    ensure_buckets(settings)
    mapping = load_mappings()[department]
    batch = land_export(landing_store(settings), settings.sources_dir, department, day, mapping.file_pattern)
    log.info("landed %s: %s", batch.batch_id, ", ".join(f"{f.key} ({f.size} bytes)" for f in batch.files))
    return asdict(batch)


def _batch(payload: dict[str, Any]) -> LandedBatch:
    return LandedBatch(
        payload["department"],
        payload["batch_id"],
        [LandedFile(**f) for f in payload["files"]],
        payload["landed_at"],
    )


def load_bronze(settings: Settings, landed: dict[str, Any]) -> dict[str, Any]:
    batch = _batch(landed)
    spark = get_spark(settings)
    store = landing_store(settings)
    uri_of_key = {f.key: store.uri(f.key) for f in batch.files}
    records = bronze.read_records(spark, list(uri_of_key.values()), load_mappings()[batch.department])
    bronze.write_bronze(
        bronze.with_lineage(records, batch, uri_of_key), table_uri(settings, *BRONZE_CASES), batch
    )
    rows = (
        spark.read.format("delta")
        .load(table_uri(settings, *BRONZE_CASES))
        .where(F.col("_batch_id") == batch.batch_id)
        .count()
    )
    log.info("bronze %s: %d records", batch.batch_id, rows)
    return {"department": batch.department, "batch_id": batch.batch_id, "rows": rows}


def conform_silver(settings: Settings, batch_id: str, department: str) -> dict[str, Any]:
    """Conform one bronze batch: valid rows upserted into silver, the rest quarantined with reasons."""
    spark = get_spark(settings)
    contract = load_contract("case")
    rules = compile_row_rules(contract, load_code_lists())
    batch_rows = (
        spark.read.format("delta")
        .load(table_uri(settings, *BRONZE_CASES))
        .where((F.col("_department") == department) & (F.col("_batch_id") == batch_id))
    )
    conformed = silver.conform(batch_rows, load_mappings()[department], contract)
    # Tag once, then count and write both sides from the cached result.
    split = silver.split_by_rules(conformed, rules, contract)
    cached_valid = split.valid.persist()
    cached_bad = split.quarantined.persist()
    try:
        rows_in = batch_rows.count()
        result = silver.Reconciliation(batch_id, rows_in, cached_valid.count(), cached_bad.count())
        if not result.holds:
            raise ReconciliationError(f"{batch_id}: {json.dumps(asdict(result))} does not reconcile")
        silver.replace_batch(cached_bad, table_uri(settings, *QUARANTINE), batch_id)
        deduplicated = silver.latest_per_key(cached_valid, ["department", "case_id"])
        silver.upsert(spark, deduplicated, table_uri(settings, *SILVER_CASES), ["department", "case_id"])
    finally:
        cached_valid.unpersist()
        cached_bad.unpersist()
    record = asdict(result) | {"department": department, "checked_at": dt.datetime.now(dt.UTC)}
    silver.replace_batch(
        spark.createDataFrame([record]), table_uri(settings, *RECONCILIATION), batch_id, column="batch_id"
    )
    log.info(
        "silver %s: %d in = %d valid + %d quarantined",
        batch_id,
        result.rows_in,
        result.rows_valid,
        result.rows_quarantined,
    )
    return asdict(result)


def validate_silver(settings: Settings) -> dict[str, Any]:
    spark = get_spark(settings)
    contract = load_contract("case")
    cases = spark.read.format("delta").load(table_uri(settings, *SILVER_CASES))
    gate = validate(cases.select(*contract.field_names), compile_suite(contract, load_code_lists()), "case")
    summary = {
        "suite": gate.suite,
        "success": gate.success,
        "evaluated": gate.evaluated,
        "failed": gate.failed_expectations,
    }
    if not gate.success:
        raise QualityGateError(f"GX suite {gate.suite} failed: {gate.failed_expectations}")
    log.info("GX suite %s passed on silver.case: %d expectations", gate.suite, gate.evaluated)
    return summary


def build_gold(settings: Settings) -> dict[str, Any]:
    spark = get_spark(settings)
    cases = spark.read.format("delta").load(table_uri(settings, *SILVER_CASES))
    gold.write_gold(gold.subject_profile(cases), table_uri(settings, *GOLD_PROFILE))
    profiles = spark.read.format("delta").load(table_uri(settings, *GOLD_PROFILE))
    built = {
        "subjects": profiles.count(),
        "multi_department": profiles.where(F.size("departments") > 1).count(),
    }
    log.info("gold subject_profile: %d subjects", built["subjects"])
    return built
