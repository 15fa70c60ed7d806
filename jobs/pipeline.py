"""The pipeline's steps as plain functions of settings and small arguments.

Airflow tasks (dags/) call these and pass their small JSON results along through XCom; the
CLI and the tests call them directly. Each step reads exactly its batch and is safe to re-run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from hub.settings import Settings
from hub.storage import ensure_buckets, landing_store, table_uri
from jobs import bronze, gold, silver
from jobs.departments import DepartmentMapping, load_mappings
from jobs.landing import LandedBatch, LandedFile, land_export
from jobs.spark import get_spark
from quality.contracts import Contract, load_code_lists, load_contract
from quality.gx_suite import compile_suite, validate
from quality.row_rules import RowRule, compile_row_rules, tag_violations

log = logging.getLogger("hub.pipeline")

BRONZE_CASES = ("bronze", "case_record")
SILVER_CASES = ("silver", "case")
QUARANTINE = ("silver", "quarantine")
RECONCILIATION = ("quality", "batch_reconciliation")
RULE_RESULTS = ("quality", "rule_results")
GATE_RESULTS = ("quality", "gate_results")
GATE_RESULT_SCHEMA = (
    "suite string, success boolean, evaluated int, failed array<string>, validated_at timestamp"
)
GOLD_PROFILE = ("gold", "subject_profile")


class ReconciliationError(RuntimeError):
    """Rows went missing between bronze and silver: the run must fail, not publish."""


class QualityGateError(RuntimeError):
    """The batch-level GX suite failed on what reached silver."""


def land(settings: Settings, department: str, day: dt.date) -> dict[str, Any]:
    ensure_buckets(settings)
    mapping = load_mappings(settings.mappings_dir)[department]
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
    records = bronze.read_records(
        spark, list(uri_of_key.values()), load_mappings(settings.mappings_dir)[batch.department]
    )
    bronze.write_bronze(
        bronze.with_lineage(records, batch, uri_of_key), table_uri(settings, *BRONZE_CASES), batch
    )
    rows = (
        spark.read.format("delta")
        .load(table_uri(settings, *BRONZE_CASES))
        .where((F.col("_department") == batch.department) & (F.col("_batch_id") == batch.batch_id))
        .count()
    )
    log.info("bronze %s: %d records", batch.batch_id, rows)
    return {"department": batch.department, "batch_id": batch.batch_id, "rows": rows}


CASE_KEY = ["department", "case_id"]


@contextmanager
def _checked(
    rows: DataFrame, mapping: DepartmentMapping, contract: Contract, rules: list[RowRule], label: str
) -> Iterator[tuple[DataFrame, DataFrame, silver.Reconciliation]]:
    """Conform and tag `rows` in one cached pass; yield the valid and quarantined sides.

    Fails before anything is written when the two sides do not add up to the rows read.
    """
    tagged = tag_violations(silver.conform(rows, mapping, contract), rules).persist()
    try:
        valid = silver.valid_rows(tagged, contract)
        quarantined = silver.quarantine_rows(tagged, rules, contract)
        result = silver.Reconciliation(label, rows.count(), valid.count(), quarantined.count())
        if not result.holds:
            raise ReconciliationError(f"{label}: {json.dumps(asdict(result))} does not reconcile")
        yield valid, quarantined, result
    finally:
        tagged.unpersist()


def _upsert_cases(settings: Settings, valid: DataFrame) -> None:
    silver.upsert(
        valid.sparkSession,
        silver.latest_per_key(valid, CASE_KEY),
        table_uri(settings, *SILVER_CASES),
        CASE_KEY,
    )


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
    mapping = load_mappings(settings.mappings_dir)[department]
    with _checked(batch_rows, mapping, contract, rules, batch_id) as (valid, quarantined, result):
        silver.replace_batch(quarantined, table_uri(settings, *QUARANTINE), batch_id)
        per_rule = silver.rule_results(quarantined, rules).select(
            F.lit(batch_id).alias("batch_id"),
            F.lit(contract.name).alias("contract"),
            F.lit(contract.version).alias("contract_version"),
            "*",
            F.current_timestamp().alias("checked_at"),
        )
        silver.replace_batch(per_rule, table_uri(settings, *RULE_RESULTS), batch_id, column="batch_id")
        _upsert_cases(settings, valid)
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
    """The batch gate: the contract's GX suite over silver.case; results kept, Data Docs rendered."""
    spark = get_spark(settings)
    contract = load_contract("case")
    cases = spark.read.format("delta").load(table_uri(settings, *SILVER_CASES))
    gate = validate(
        cases.select(*contract.field_names),
        compile_suite(contract, load_code_lists()),
        "case",
        docs_dir=settings.gx_docs_dir,
    )
    validated_at = dt.datetime.now(dt.UTC)
    summary = {
        "suite": gate.suite,
        "success": gate.success,
        "evaluated": gate.evaluated,
        "failed": gate.failed_expectations,
    }
    spark.createDataFrame([summary | {"validated_at": validated_at}], GATE_RESULT_SCHEMA).write.format(
        "delta"
    ).mode("append").save(table_uri(settings, *GATE_RESULTS))
    if not gate.success:
        raise QualityGateError(
            f"GX suite {gate.suite} failed: {gate.failed_expectations}; Data Docs in {settings.gx_docs_dir}"
        )
    log.info("GX suite %s passed on silver.case: %d expectations", gate.suite, gate.evaluated)
    return summary | {"validated_at": validated_at.isoformat()}


def build_gold(settings: Settings) -> dict[str, Any]:
    spark = get_spark(settings)
    cases = spark.read.format("delta").load(table_uri(settings, *SILVER_CASES))
    gold.write_gold(gold.subject_profile(cases), table_uri(settings, *GOLD_PROFILE))
    (counts,) = (
        spark.read.format("delta")
        .load(table_uri(settings, *GOLD_PROFILE))
        .agg(
            F.count("*").alias("subjects"),
            F.count_if(F.size("departments") > 1).alias("multi_department"),
        )
        .collect()
    )
    built: dict[str, Any] = counts.asDict()
    log.info("gold subject_profile: %d subjects", built["subjects"])
    return built


def replay_quarantine(settings: Settings) -> dict[str, int]:
    """Re-conform every quarantined row with today's mappings and contract.

    Rows that pass now are upserted into silver and leave quarantine; the rest stay, with the
    rules they break now. Meant for after a mapping or contract fix.
    """
    spark = get_spark(settings)
    contract = load_contract("case")
    rules = compile_row_rules(contract, load_code_lists())
    quarantine_uri = table_uri(settings, *QUARANTINE)
    held = spark.read.format("delta").load(quarantine_uri).where(F.col("contract") == contract.name)
    # Checkpoint what is read: the quarantine table is rewritten below from rows derived from it.
    as_bronze = held.select(
        "_department", "_batch_id", F.col("raw_record").alias(bronze.RECORD), "_source_file", "_source_line"
    ).localCheckpoint()
    totals = {"replayed": 0, "released": 0, "still_quarantined": 0}
    for department, mapping in load_mappings(settings.mappings_dir).items():
        rows = as_bronze.where(F.col("_department") == department)
        with _checked(rows, mapping, contract, rules, f"replay of {department}") as (released, still, result):
            if result.rows_in == 0:
                continue
            _upsert_cases(settings, released)
            still.write.format("delta").mode("overwrite").option(
                "replaceWhere", f"contract = '{contract.name}' AND _department = '{department}'"
            ).save(quarantine_uri)
        totals["replayed"] += result.rows_in
        totals["released"] += result.rows_valid
        totals["still_quarantined"] += result.rows_quarantined
    log.info(
        "quarantine replay: %(replayed)d rows, %(released)d released, %(still_quarantined)d still held",
        totals,
    )
    return totals
