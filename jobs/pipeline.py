"""The pipeline's steps as plain functions of settings and small arguments.

Airflow tasks (dags/) call these and pass their small JSON results along through XCom; the
CLI and the tests call them directly. Each step reads exactly its batch and is safe to re-run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cache, partial, reduce
from typing import Any

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from hub.faults import fault_point
from hub.feedback import REUSE_EVENT
from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.storage import ensure_buckets, landing_store, table_uri
from hub.task_failures import TASK_FAILURES
from hub.working_days import load_calendar
from jobs import bronze, gold, incremental, maintenance, service_quality, silver, supervision, throughput
from jobs.case_progress import case_progress as gold_case_progress
from jobs.case_progress import secret_paths
from jobs.departments import DepartmentMapping, load_mappings
from jobs.feedback import REUSE_EVENT_COLUMNS, reuse_feedback_monthly
from jobs.landing import LandedBatch, land, landed_batches, plan_pull
from jobs.sources import holds_records, interface_url, local_window, payload_problem, source_for
from jobs.spark import get_spark, job_description
from quality.contracts import Contract, identity_attributes, load_code_lists, load_contract
from quality.gx_suite import GateRun, compile_suite, gate_run, suite_name
from quality.row_rules import (
    BROADCAST_KEYS_LIMIT,
    UNPARSED,
    VIOLATIONS,
    CalendarArrays,
    RowRule,
    compile_row_rules,
    reference_data_needed,
    tag_violations,
)
from quality.spark_schema import spark_schema

log = logging.getLogger("hub.pipeline")

BRONZE_CASES = ("bronze", "case_record")
SILVER_CASES = ("silver", "case")
QUARANTINE = ("silver", "quarantine")
RECONCILIATION = ("quality", "batch_reconciliation")
RULE_RESULTS = ("quality", "rule_results")
GATE_RESULTS = ("quality", "gate_results")
# What each gate checked: the whole table, or the rows that changed since the last gate it passed
# (`scope`), at which version of the table and under which contract version.
GATE_RESULT_SCHEMA = (
    "suite string, success boolean, evaluated int, failed array<string>, validated_at timestamp, "
    "scope string, contract_version string, table_version long, rows long"
)
CATALOGUE = ("silver", "approval_item")
# The catalogue's tables, published together: the items, then the materials each requires.
CATALOGUE_TABLES = (CATALOGUE[1], "item_requirement")
FILE_INCIDENTS = ("quality", "file_incidents")
RECONCILIATION_SCHEMA = (
    "batch_id string, contract string, rows_in long, rows_valid long, rows_quarantined long, "
    "department string, checked_at timestamp"
)
FILE_INCIDENT_SCHEMA = (
    "department string, batch_id string, file string, sha256 string, reason string, landed_at string"
)


class ReconciliationError(RuntimeError):
    """Rows went missing between bronze and silver: the run must fail, not publish."""


class QualityGateError(RuntimeError):
    """The batch-level GX suite failed on what reached silver."""


def source_label(settings: Settings, mapping: DepartmentMapping) -> str:
    """Names the system a record came from, for bronze lineage (no credentials in it)."""
    interface = mapping.interface
    where = {
        "file_drop": str(settings.sources_dir / mapping.department),
        "object_store": f"s3://{interface.bucket}/{interface.prefix}",
        "rest_api": interface_url(settings, mapping),
        "jdbc": f"{interface_url(settings, mapping)}#{interface.table}",
    }[interface.kind]
    return f"{interface.kind}:{where}"


def ingest(settings: Settings, department: str, interval_start: dt.date) -> dict[str, Any]:
    """Pull the department's data interval (from its watermark after missed runs) into landing."""
    ensure_buckets(settings)
    mapping = load_mappings(settings.mappings_dir)[department]
    store = landing_store(settings)
    lookback = dt.timedelta(hours=mapping.interface.lookback_hours)
    plan = plan_pull(store, department, local_window(interval_start), lookback)
    batch = land(
        store,
        department,
        plan,
        source_for(settings, mapping),
        lambda name, payload: payload_problem(mapping, name, payload),
        holds_records=lambda payload: holds_records(mapping, payload),
    )
    if plan.existing is not None:
        log.info(
            "%s: already landed as %s [%s, %s)",
            department,
            batch.batch_id,
            batch.since,
            batch.until,
            extra={"department": department, "batch_id": batch.batch_id},
        )
    else:
        log.info(
            "landed %s [%s, %s): %s",
            batch.batch_id,
            batch.since,
            batch.until,
            ", ".join(f"{f.key} ({f.size} bytes)" for f in batch.files) or "nothing new",
            extra={"department": department, "batch_id": batch.batch_id},
        )
    for rejected in batch.rejected:
        log.warning(
            "%s: file %s rejected: %s",
            department,
            rejected.key,
            rejected.reason,
            extra={"department": department, "batch_id": batch.batch_id, "file": rejected.key},
        )
    return asdict(batch)


def load_bronze(settings: Settings, landed: dict[str, Any]) -> dict[str, Any]:
    """Append the batch's accepted files to bronze (replacing the batch on a re-run); record rejects."""
    (loaded,) = load_bronze_batches(settings, [landed])
    return loaded


def load_bronze_batches(settings: Settings, landed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Load landed batches of one department into bronze in one write (a rebuild from the landing
    zone), each batch's rows replaced; record rejects.

    A department whose pulls look back sends some change rows twice; each is kept once: the copy
    of the earliest batch in the order given (landing order), unless a batch outside the load that
    one of them looked back into holds it already.
    """
    batches = [LandedBatch.from_dict(doc) for doc in landed]
    (department,) = {b.department for b in batches}
    mapping = load_mappings(settings.mappings_dir)[department]
    spark = get_spark(settings)
    store = landing_store(settings)
    uri_of_key = {f.key: store.uri(f.key) for b in batches for f in b.files}
    records = bronze.with_lineage(
        bronze.read_records(spark, list(uri_of_key.values()), mapping),
        batches,
        uri_of_key,
        source_label(settings, mapping),
    )
    pulled: dict[str, int] | None = None
    row_id = mapping.interface.row_id
    bronze_uri = table_uri(settings, *BRONZE_CASES)
    if row_id and mapping.interface.lookback_hours:
        pulled = _rows_per_batch(records)
        loading = {b.batch_id for b in batches}
        department_batches = landed_batches(store, department)
        earlier = sorted(
            {e for b in batches for e in _batches_looked_back_into(b, department_batches)} - loading
        )
        if earlier and DeltaTable.isDeltaTable(spark, bronze_uri):
            earlier_rows = (
                spark.read.format("delta")
                .load(bronze_uri)
                .where((F.col("_department") == department) & F.col("_batch_id").isin(earlier))
            )
            records = bronze.unseen_rows(records, earlier_rows, row_id)
        if len(batches) > 1:
            records = bronze.first_sightings(records, row_id, [b.batch_id for b in batches])
    bronze.write_bronze(records, bronze_uri, batches)
    fault_point(settings, "bronze/case_record")
    rejected = [
        (b.department, b.batch_id, r.key, r.sha256, r.reason, b.landed_at)
        for b in batches
        for r in b.rejected
    ]
    incidents_uri = table_uri(settings, *FILE_INCIDENTS)
    # A landed batch's rejects never change, so batches that had none have none to replace; the
    # table is still made on the first load, so it can always be queried.
    if rejected or not DeltaTable.isDeltaTable(spark, incidents_uri):
        silver.replace_batches(
            spark.createDataFrame(rejected, FILE_INCIDENT_SCHEMA),
            incidents_uri,
            [b.batch_id for b in batches],
            column="batch_id",
        )
    rows = _rows_per_batch(
        spark.read.format("delta")
        .load(bronze_uri)
        .where((F.col("_department") == department) & F.col("_batch_id").isin([b.batch_id for b in batches]))
    )
    results = []
    for batch in batches:
        already_landed = 0 if pulled is None else pulled.get(batch.batch_id, 0) - rows.get(batch.batch_id, 0)
        log.info(
            "bronze %s: %d records, %d read again by the lookback and already in bronze, %d file(s) rejected",
            batch.batch_id,
            rows.get(batch.batch_id, 0),
            already_landed,
            len(batch.rejected),
            extra={"department": department, "batch_id": batch.batch_id},
        )
        results.append(
            {
                "department": department,
                "batch_id": batch.batch_id,
                "rows": rows.get(batch.batch_id, 0),
                "already_landed": already_landed,
                "rejected": len(batch.rejected),
            }
        )
    return results


def reload_bronze(settings: Settings, departments: list[str] | None = None) -> dict[str, int]:
    """Load every batch in the landing zone into bronze again, one write per department: a rebuild
    (a new lakehouse over the same landing zone, a reader fixed). Rows per department."""
    store = landing_store(settings)
    loaded = {}
    for department in departments or sorted(load_mappings(settings.mappings_dir)):
        batches = [asdict(b) for b in landed_batches(store, department)]
        loaded[department] = sum(b["rows"] for b in load_bronze_batches(settings, batches)) if batches else 0
    return loaded


def _rows_per_batch(df: DataFrame) -> dict[str, int]:
    return {
        r["_batch_id"]: r["rows"] for r in df.groupBy("_batch_id").agg(F.count("*").alias("rows")).collect()
    }


def _batches_looked_back_into(batch: LandedBatch, landed: list[LandedBatch]) -> list[str]:
    """Ids of the batches among `landed` (the department's) whose windows this batch's pull read again."""
    looked_back = batch.looked_back
    if looked_back is None:
        return []
    return [
        b.batch_id
        for b in landed
        if b.batch_id != batch.batch_id
        and b.window.since < looked_back.until
        and looked_back.since < b.window.until
    ]


def publish_catalogue(settings: Settings) -> dict[str, Any]:
    """Load the government service office's item catalogue into silver: the items
    (silver/approval_item) and the materials each requires (silver/item_requirement).

    The items are the reference every case's item must exist in, and each requirement's item must
    be one of them. Each table is checked against its contract's row rules, and a catalogue with a
    bad entry is not published at all (the previous version stays), since every department's cases
    would be judged against it. A table that did not change is not rewritten: a new version of it
    makes the next gold build a full one.
    """
    spark = get_spark(settings)
    code_lists = load_code_lists()
    published: dict[str, DataFrame] = {}
    for name in CATALOGUE_TABLES:
        contract = load_contract(name)
        path = settings.catalogue_file(name)
        if not path.exists():
            raise FileNotFoundError(f"no item catalogue table {name} at {path}")
        # Read here, not by the executors: on a cluster the file is on the driver's disk only.
        lines = [(line,) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        raw = spark.createDataFrame(lines, "value string")
        entries = raw.select(F.from_json("value", spark_schema(contract)).alias("e")).select("e.*")
        rules = compile_row_rules(contract, code_lists, reference_data=published)
        tagged = tag_violations(entries.withColumn(UNPARSED, F.array().cast("array<string>")), rules)
        keys = [f.name for f in contract.fields if f.primary_key]
        bad = tagged.where(F.size(VIOLATIONS) > 0).select(*keys, VIOLATIONS).collect()
        if bad:
            raise ValueError(f"item catalogue {path} not published: {[tuple(r) for r in bad]}")
        published[name] = entries.localCheckpoint()
    counts = {name: rows.count() for name, rows in published.items()}
    changed = False
    for name, rows in published.items():
        uri = table_uri(settings, "silver", name)
        if not _same_rows(spark, uri, rows):
            rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(uri)
            changed = True
    log.info("item catalogue %s: %s", "published" if changed else "unchanged", counts)
    return {"items": counts[CATALOGUE[1]], "requirements": counts["item_requirement"], "changed": changed}


def _same_rows(spark: SparkSession, uri: str, rows: DataFrame) -> bool:
    if not DeltaTable.isDeltaTable(spark, uri):
        return False
    current = spark.read.format("delta").load(uri)
    if current.columns != rows.columns:
        return False
    return current.exceptAll(rows).isEmpty() and rows.exceptAll(current).isEmpty()


def reference_data(settings: Settings, contract: Contract) -> dict[str, DataFrame]:
    """The silver tables the contract's cross-dataset rules read, by contract name."""
    spark = get_spark(settings)
    data: dict[str, DataFrame] = {}
    for name in reference_data_needed(contract):
        uri = table_uri(settings, "silver", name)
        if not DeltaTable.isDeltaTable(spark, uri):
            raise RuntimeError(f"contract {contract.name} needs silver/{name}, which is not published")
        data[name] = spark.read.format("delta").load(uri)
    return data


def pending_batches(settings: Settings) -> list[tuple[str, str]]:
    """(department, batch id) of every bronze batch that silver has not reconciled yet, oldest first."""
    spark = get_spark(settings)
    bronze_uri = table_uri(settings, *BRONZE_CASES)
    if not DeltaTable.isDeltaTable(spark, bronze_uri):
        return []
    batches = spark.read.format("delta").load(bronze_uri).select("_department", "_batch_id").distinct()
    reconciliation_uri = table_uri(settings, *RECONCILIATION)
    if DeltaTable.isDeltaTable(spark, reconciliation_uri):
        done = (
            spark.read.format("delta").load(reconciliation_uri).select(F.col("batch_id").alias("_batch_id"))
        )
        batches = batches.join(done, "_batch_id", "left_anti")
    rows = batches.collect()
    return sorted(((r["_department"], r["_batch_id"]) for r in rows), key=lambda b: (b[1][-8:], b[0]))


# The field (or fields, the latest of them that is set) that orders each silver contract's records:
# a newer version replaces an older one.
RECORD_VERSION: dict[str, str | tuple[str, ...]] = {
    "case": "updated_at",
    "subject": "updated_at",
    "material": "submitted_at",
    "case_event": "record_version",
    "certificate": "issued_at",
    # A poor evaluation is sent again when it has been rectified.
    "evaluation": ("evaluated_at", "rectified_at"),
    # A consignment is re-sent with each state of its case; an order that reached its recipient is
    # the newer state of it.
    "courier_delivery": "ordered_at",
}
# Silver contracts in the order they are conformed: the case of every record nested in a case
# record must be in silver first.
SILVER_CONTRACTS = (
    "case",
    "subject",
    "material",
    "case_event",
    "certificate",
    "evaluation",
    "courier_delivery",
)


# Up to this many rows held in one conform run (every contract's) are broadcast to find their
# records in bronze: their lineage, four short strings a row, is a few MB at most.
BROADCAST_HELD_ROWS = 200_000


@contextmanager
def _checked(
    sent: dict[str, DataFrame],
    mappings: dict[str, DepartmentMapping],
    contract: Contract,
    rules: list[RowRule],
    label: str,
    *,
    hash_key: bytes,
) -> Iterator[tuple[DataFrame, DataFrame, list[silver.Reconciliation]]]:
    """Conform what each department sent (department -> its rows of `contract`) with its mapping and
    tag it all in one cached pass; yield the valid and quarantined sides and, per batch, how the
    rows read split between them.

    Fails before anything is written when a batch's two sides do not add up to the rows read.
    """
    conformed = _union(
        [
            silver.conform(r, mappings[d].for_contract(contract.name), contract, hash_key=hash_key)
            for d, r in sent.items()
        ]
    )
    tagged = tag_violations(conformed, rules).persist()
    try:
        valid = silver.valid_rows(tagged, contract)
        quarantined = silver.quarantine_rows(tagged, rules, contract)
        results = silver.reconcile(tagged)
        broken = [asdict(r) for r in results if not r.holds]
        if broken:
            raise ReconciliationError(f"{label}: {json.dumps(broken)} do not reconcile")
        yield valid, quarantined, results
    finally:
        tagged.unpersist()


def _union(frames: list[DataFrame]) -> DataFrame:
    return reduce(DataFrame.unionByName, frames)


def _upsert(settings: Settings, contract: Contract, valid: DataFrame) -> None:
    keys = [f.name for f in contract.fields if f.primary_key]
    version = RECORD_VERSION[contract.name]
    silver.upsert(
        valid.sparkSession,
        silver.latest_per_key(valid, keys, version),
        table_uri(settings, "silver", contract.name),
        keys,
        version,
    )


@dataclass(frozen=True)
class _Conformed:
    """One contract's pass over the pending batches: the counts per batch, and the rows for the
    quality tables, kept (checkpointed) until every contract is done and they are written once;
    the held rows without their records' text, which are looked up for all contracts together, and
    where each sending department nests this contract's records in its case records."""

    results: list[silver.Reconciliation]
    quarantined: DataFrame
    rule_results: DataFrame
    nested_paths: dict[str, str]


def _conform_contract(
    settings: Settings,
    contract: Contract,
    bronze_rows: DataFrame,
    mappings: dict[str, DepartmentMapping],
    department_of: dict[str, str],
    *,
    parsed: dict[str, DataFrame],
) -> _Conformed:
    """Conform every sending department's rows of one contract in one pass, from its records parsed
    once for every contract (`parsed`, by department), and upsert the valid ones into silver."""
    senders = sorted({d for d in department_of.values() if mappings[d].sends(contract.name)})
    batch_ids = [b for b, d in department_of.items() if d in senders]
    sent = {
        d: silver.records_from(
            parsed[d], bronze_rows.where(F.col("_department") == d), mappings[d], contract.name
        )
        for d in senders
    }
    nested_paths = {
        d: mappings[d].nested[contract.name].path for d in senders if mappings[d].contract != contract.name
    }
    # Reference data is read now, after the contracts conformed before this one were written.
    rules = compile_row_rules(contract, load_code_lists(), reference_data(settings, contract))
    hash_key = settings.case_code_key.get_secret_value().encode()
    with _checked(sent, mappings, contract, rules, contract.name, hash_key=hash_key) as (
        valid,
        quarantined,
        results,
    ):
        per_rule = silver.rule_results(quarantined, rules, batch_ids).select(
            "batch_id",
            F.lit(contract.name).alias("contract"),
            F.lit(contract.version).alias("contract_version"),
            "rule_id",
            "field",
            "failed_rows",
            "sample_lines",
            "sample_file",
            F.current_timestamp().alias("checked_at"),
        )
        conformed = _Conformed(
            results, quarantined.localCheckpoint(), per_rule.localCheckpoint(), nested_paths
        )
        _upsert(settings, contract, valid)
    return conformed


def conform_silver(settings: Settings, pending: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Conform the pending bronze batches (department -> batch ids), one pass per contract over
    every department that sends it: valid rows upserted into silver, the rest quarantined with
    reasons, and each batch's counts per contract reconciled and recorded. Each department's
    records are parsed once, for all the contracts, and kept until the last. The quality tables are
    written once, after every contract; a batch counts as done once its reconciliation is written,
    last."""
    department_of = {b: d for d, batches in pending.items() for b in batches}
    if not department_of:
        return []
    spark = get_spark(settings)
    bronze_rows = (
        spark.read.format("delta")
        .load(table_uri(settings, *BRONZE_CASES))
        .where(F.col("_department").isin(list(pending)) & F.col("_batch_id").isin(list(department_of)))
    )
    mappings = load_mappings(settings.mappings_dir)
    # Persisted, not checkpointed: the first contract's pass fills it, and it is freed when silver
    # is done instead of lingering until the JVM collects it.
    parsed = {
        d: silver.parse_department(bronze_rows.where(F.col("_department") == d), mappings[d]).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        for d in pending
    }
    try:
        return _conform_contracts(settings, bronze_rows, parsed, mappings, department_of)
    finally:
        for rows in parsed.values():
            rows.unpersist()


def _conform_contracts(
    settings: Settings,
    bronze_rows: DataFrame,
    parsed: dict[str, DataFrame],
    mappings: dict[str, DepartmentMapping],
    department_of: dict[str, str],
) -> list[dict[str, Any]]:
    spark = bronze_rows.sparkSession
    checked_at = dt.datetime.now(dt.UTC)
    records: list[dict[str, Any]] = []
    quarantined: list[DataFrame] = []
    per_rule: list[DataFrame] = []
    nested_paths: dict[str, dict[str, str]] = {}
    for name in SILVER_CONTRACTS:
        batch_ids = [b for b, d in department_of.items() if mappings[d].sends(name)]
        if not batch_ids:
            continue
        started = time.perf_counter()
        with job_description(spark, f"conform silver/{name}"):
            conformed = _conform_contract(
                settings, load_contract(name), bronze_rows, mappings, department_of, parsed=parsed
            )
        fault_point(settings, f"silver/{name}")
        results = conformed.results
        quarantined.append(conformed.quarantined)
        per_rule.append(conformed.rule_results)
        nested_paths[name] = conformed.nested_paths
        log.info(
            "silver %s: %d rows from %d batches in %.1f s",
            name,
            sum(r.rows_in for r in results),
            len(batch_ids),
            time.perf_counter() - started,
            extra={"contract": name},
        )
        # A batch with no rows of the contract (a quiet day) is reconciled too: 0 = 0 + 0.
        seen = {r.batch_id for r in results}
        results += [silver.Reconciliation(b, 0, 0, 0) for b in batch_ids if b not in seen]
        records += [
            asdict(r) | {"contract": name, "department": department_of[r.batch_id], "checked_at": checked_at}
            for r in results
        ]
    held = sum(r["rows_quarantined"] for r in records)
    senders = {d: mappings[d] for d in set(department_of.values())}
    with job_description(spark, "quarantine: held rows' records from bronze"):
        # Every contract's rows of these batches are replaced: each was conformed again above.
        silver.replace_batches(
            silver.with_raw_records(
                _union(quarantined),
                bronze_rows,
                nested_paths,
                broadcast=held <= BROADCAST_HELD_ROWS,
                secrets=secret_paths(senders),
                hash_key=settings.case_code_key.get_secret_value().encode(),
            )
            # Nothing held, nothing to look up in bronze.
            if held
            else _union(quarantined).select(*silver.QUARANTINE_COLUMNS),
            table_uri(settings, *QUARANTINE),
            list(department_of),
        )
    silver.replace_batches(
        _union(per_rule), table_uri(settings, *RULE_RESULTS), list(department_of), column="batch_id"
    )
    silver.replace_batches(
        spark.createDataFrame(records, RECONCILIATION_SCHEMA),
        table_uri(settings, *RECONCILIATION),
        list(department_of),
        column="batch_id",
    )
    for r in records:
        log.info(
            "silver %s %s: %d in = %d valid + %d quarantined",
            r["contract"],
            r["batch_id"],
            r["rows_in"],
            r["rows_valid"],
            r["rows_quarantined"],
            extra={"contract": r["contract"], "batch_id": r["batch_id"], "department": r["department"]},
        )
    return [{k: v for k, v in r.items() if k != "checked_at"} for r in records]


def _last_passed_gates(settings: Settings) -> dict[str, int]:
    """Per suite (its name carries the contract's version), the table version the latest gate it
    passed saw."""
    spark = get_spark(settings)
    uri = table_uri(settings, *GATE_RESULTS)
    if not DeltaTable.isDeltaTable(spark, uri):
        return {}
    results = spark.read.format("delta").load(uri)
    if "table_version" not in results.columns:  # written before gates recorded what they saw
        return {}
    passed = (
        results.where("success AND table_version IS NOT NULL")
        .groupBy("suite")
        .agg(F.max_by("table_version", "validated_at").alias("last"))
    )
    return {r["suite"]: r["last"] for r in passed.collect()}


# The Change Data Feed's column telling an insert, a delete and an update's pre- and post-image apart.
CHANGE_TYPE = "_change_type"


def _rows_to_gate(
    settings: Settings, contract: Contract, version: int, last_passed: int | None
) -> tuple[str, DataFrame]:
    """The silver rows a gate checks: the whole table at `version`, or, after a gate of the same
    suite passed at version `last_passed`, only the rows whose key changed since (their current
    state, so a key updated twice is checked once). References still resolve against whole tables.

    The changed rows' current state is the latest of their changes in the Change Data Feed, which
    reads only the files those commits wrote, not the table.
    """
    spark = get_spark(settings)
    uri = table_uri(settings, "silver", contract.name)
    if last_passed is None or last_passed > version or incremental.restored_since(spark, uri, last_passed):
        table = spark.read.format("delta").option("versionAsOf", version).load(uri)
        return "whole", table.select(*contract.field_names)
    keys = [f.name for f in contract.fields if f.primary_key]
    deleted = F.col(CHANGE_TYPE) == "delete"
    # A commit that replaces rows deletes and inserts the same key: the insert is what stands.
    latest_first = Window.partitionBy(*keys).orderBy(F.col("_commit_version").desc(), deleted.asc())
    latest = (
        incremental.changed_rows(spark, uri, last_passed, version)
        .where(F.col(CHANGE_TYPE) != "update_preimage")
        .withColumn("_nth", F.row_number().over(latest_first))
    )
    return "changes", latest.where((F.col("_nth") == 1) & ~deleted).select(*contract.field_names)


# A gate of at most this many changed rows checks its references by sending its own keys to the
# targets' scans (`compile_suite`'s small_batch); a day's changes are far fewer.
SMALL_GATE_ROWS = 200_000


def _gate_table(
    settings: Settings,
    gate: GateRun,
    name: str,
    last_passed: dict[str, int],
    few_keys: Callable[[str], bool],
) -> dict[str, Any] | None:
    """Gate one silver table in the run, or None when it does not exist yet or has not changed
    since its suite last passed."""
    spark = get_spark(settings)
    uri = table_uri(settings, "silver", name)
    version = incremental.table_version(spark, uri)
    if version is None:
        return None
    contract = load_contract(name)
    named = suite_name(contract)
    last = last_passed.get(named)
    if last == version:
        log.info("GX suite %s: silver/%s unchanged since it passed", named, name)
        return None
    targets = {r.target: table_uri(settings, "silver", r.target) for r in contract.references}
    references = {t: f"delta.`{u}`" for t, u in targets.items()}
    with job_description(spark, f"gate silver/{name}"):
        scope, rows = _rows_to_gate(settings, contract, version, last)
        rows = rows.persist()
        try:
            counted = rows.count()
            small_batch = scope == "changes" and counted <= SMALL_GATE_ROWS
            # A small batch's references need no count of their targets (see compile_suite).
            broadcast = frozenset() if small_batch else frozenset(t for t in targets if few_keys(t))
            suite = compile_suite(
                contract, load_code_lists(), references, broadcast=broadcast, small_batch=small_batch
            )
            result = gate.validate(rows, suite, name)
        finally:
            rows.unpersist()
    return {
        "suite": result.suite,
        "success": result.success,
        "evaluated": result.evaluated,
        "failed": result.failed_expectations,
        "scope": scope,
        "contract_version": contract.version,
        "table_version": version,
        "rows": counted,
    }


def validate_silver(settings: Settings) -> dict[str, Any]:
    """The batch gate: each silver table against its contract's GX suite; results kept, Data Docs
    rendered. Every table is gated before any failure is raised, so the docs show them all.

    A table is gated whole the first time and when its contract changes; after that, only the rows
    changed since the last gate it passed are checked, and a table that did not change is not
    checked again.
    """
    spark = get_spark(settings)
    last_passed = _last_passed_gates(settings)

    @cache
    def few_keys(target: str) -> bool:
        """Whether a referenced table's keys are few enough to broadcast; counted once a run, from
        the Delta log's statistics (several contracts reference the case table)."""
        rows: int = spark.read.format("delta").load(table_uri(settings, "silver", target)).count()
        return rows <= BROADCAST_KEYS_LIMIT

    with gate_run(settings.gx_docs_dir) as gate:
        summaries = [
            summary
            for name in SILVER_CONTRACTS
            if (summary := _gate_table(settings, gate, name, last_passed, few_keys)) is not None
        ]
    validated_at = dt.datetime.now(dt.UTC)
    spark.createDataFrame(
        [summary | {"validated_at": validated_at} for summary in summaries], GATE_RESULT_SCHEMA
    ).write.format("delta").mode("append").option("mergeSchema", "true").save(
        table_uri(settings, *GATE_RESULTS)
    )
    failed = [summary for summary in summaries if not summary["success"]]
    if failed:
        raise QualityGateError(
            "; ".join(f"GX suite {f['suite']} failed: {f['failed']}" for f in failed)
            + f"; Data Docs in {settings.gx_docs_dir}"
        )
    for summary in summaries:
        log.info(
            "GX suite %s passed: %d expectations on %d rows (%s)",
            summary["suite"],
            summary["evaluated"],
            summary["rows"],
            summary["scope"],
        )
    return {
        "suites": [summary["suite"] for summary in summaries],
        "scopes": {summary["suite"]: summary["scope"] for summary in summaries},
        "evaluated": sum(summary["evaluated"] for summary in summaries),
        "validated_at": validated_at.isoformat(),
    }


def _silver(settings: Settings, name: str) -> DataFrame:
    """A silver table, or an empty frame of its contract's columns before anything reached it."""
    spark = get_spark(settings)
    uri = table_uri(settings, "silver", name)
    if DeltaTable.isDeltaTable(spark, uri):
        return spark.read.format("delta").load(uri)
    schema = spark_schema(load_contract(name))
    if name not in CATALOGUE_TABLES:  # the catalogue is published, not conformed from bronze
        for column in silver.LINEAGE:
            schema.add(column, "int" if column == "_source_line" else "string")
    return spark.createDataFrame([], schema)


GOLD_BUILDS = ("quality", "gold_builds")
# A session setting Delta records as the next commits' user metadata.
COMMIT_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
GOLD_BUILD_SCHEMA = (
    "built_at timestamp, as_of timestamp, mode string, source_versions map<string,bigint>, "
    "subjects_rebuilt bigint"
)
# The silver tables gold reads; the first five change what gold shows about a subject.
SUBJECT_SOURCES = ("case", "subject", "material", "certificate", "case_event")
GOLD_SOURCES = (*SUBJECT_SOURCES, *CATALOGUE_TABLES, "evaluation", "courier_delivery")


def _last_gold_build(settings: Settings) -> dict[str, Any] | None:
    spark = get_spark(settings)
    uri = table_uri(settings, *GOLD_BUILDS)
    if not DeltaTable.isDeltaTable(spark, uri):
        return None
    last = spark.read.format("delta").load(uri).orderBy(F.col("built_at").desc()).limit(1).collect()
    return last[0].asDict() if last else None


def _changed_subjects(
    settings: Settings, versions: dict[str, int | None], as_of: dt.datetime
) -> DataFrame | None:
    """The subjects whose silver rows changed since the last build, or None when gold must be
    rebuilt whole: no build yet, a new district day, a changed catalogue, or a table that is new."""
    last = _last_gold_build(settings)
    if last is None or last["as_of"].astimezone(DISTRICT_TIMEZONE).date() != as_of.date():
        return None
    before: dict[str, int] = last["source_versions"]
    if any(versions[n] is None or n not in before for n in GOLD_SOURCES):
        return None
    if any(versions[n] != before[n] for n in CATALOGUE_TABLES):
        return None
    spark = get_spark(settings)
    frames = [spark.createDataFrame([], "subject_id string")]
    for name in ("case", "material", "certificate"):
        if versions[name] != before[name]:
            frames.append(
                incremental.changed_rows(spark, table_uri(settings, "silver", name), before[name]).select(
                    "subject_id"
                )
            )
    if versions["subject"] != before["subject"]:
        # An entity's representative changing changes the profiles of the person before and after.
        subjects = incremental.changed_rows(
            spark, table_uri(settings, "silver", "subject"), before["subject"]
        )
        frames += [
            subjects.select("subject_id"),
            subjects.select(F.col("legal_representative_id").alias("subject_id")),
        ]
    if versions["case_event"] != before["case_event"]:
        events = incremental.changed_rows(
            spark, table_uri(settings, "silver", "case_event"), before["case_event"]
        )
        frames.append(
            _silver(settings, "case")
            .join(events.select("department", "case_id"), ["department", "case_id"], "left_semi")
            .select("subject_id")
        )
    return incremental.union_distinct(frames).where(F.col("subject_id").isNotNull())


def _identity_sharing_classes() -> dict[str, str]:
    """The subject contract's identity attributes and their sharing classes (the API reads the same
    selection to decide who sees each)."""
    return {f.name: f.sharing_class for f in identity_attributes()}


def _moment(as_of: dt.datetime | None) -> dt.datetime:
    """The moment gold judges validity and time limits at: `as_of`, or now, in district time."""
    return (as_of or dt.datetime.now(DISTRICT_TIMEZONE)).astimezone(DISTRICT_TIMEZONE)


def build_gold(
    settings: Settings, as_of: dt.datetime | None = None, *, rebuild: bool = False
) -> dict[str, Any]:
    """Build gold from silver, judging validity and time limits at `as_of` (now).

    These are the subject tables (profile, material registry, alerts); `build_marts` follows. The
    first build of a district day rebuilds them whole; a later one that day replaces only the rows
    of the subjects whose silver rows changed since. `rebuild` forces a full build. Tables other
    tables are built from are written first and read back.
    """
    spark = get_spark(settings)
    moment_at = _moment(as_of)
    moment = F.lit(moment_at).cast("timestamp")
    versions = {n: incremental.table_version(spark, table_uri(settings, "silver", n)) for n in GOLD_SOURCES}
    subjects = None if rebuild else _changed_subjects(settings, versions, moment_at)
    if subjects is not None:
        subjects = subjects.localCheckpoint()
    cases, items, events = (
        _silver(settings, "case"),
        _silver(settings, CATALOGUE[1]),
        _silver(settings, "case_event"),
    )
    arrays = CalendarArrays.of(load_calendar())

    def read(name: str) -> DataFrame:
        return spark.read.format("delta").load(_gold_uri(settings, name))

    write = partial(_write_gold_table, settings)

    def put(name: str, df: DataFrame) -> DataFrame:
        """A subject table: whole on a full build, else only the changed subjects' rows."""
        if subjects is None:
            return write(name, df)
        with job_description(spark, f"gold/{name} (changed subjects)"):
            incremental.swap_scope(spark, _gold_uri(settings, name), df, subjects)
        return read(name)

    def of_subjects(df: DataFrame) -> DataFrame:
        return df if subjects is None else df.join(F.broadcast(subjects), "subject_id", "left_semi")

    def held(df: DataFrame) -> DataFrame:
        """On an incremental build, the changed subjects' rows of an input computed once and held:
        the profile reads some inputs several times (the subjects' views three times, their cases
        twice), and each read scanned the whole table again to find a hundredth of it."""
        return df if subjects is None else df.localCheckpoint()

    def with_their_entities(views: DataFrame) -> DataFrame:
        """Every view of the rebuilt subjects and of the entities any view says they represent."""
        if subjects is None:
            return views
        represented = views.join(
            F.broadcast(subjects.withColumnRenamed("subject_id", "legal_representative_id")),
            "legal_representative_id",
            "left_semi",
        ).select("subject_id")
        return views.join(incremental.union_distinct([subjects, represented]), "subject_id", "left_semi")

    subject_cases = held(of_subjects(cases))
    subject_events = held(
        events.join(subject_cases.select("department", "case_id"), ["department", "case_id"], "left_semi")
    )
    subject_materials = held(of_subjects(_silver(settings, "material")))
    registry = put(
        "material_registry",
        gold.material_registry(subject_materials, moment),
    )
    alerts = put(
        "supervision_alert",
        supervision.supervision_alerts(
            subject_cases,
            events=subject_events,
            materials=subject_materials,
            items=items,
            requirements=_silver(settings, "item_requirement"),
            calendar=arrays,
            as_of=moment,
        ),
    )
    profiles = put(
        "subject_profile",
        # The views passed in include entities the rebuilt subjects represent, which are not rebuilt.
        of_subjects(
            gold.subject_profile(
                subject_cases,
                subjects=held(with_their_entities(_silver(settings, "subject"))),
                sharing_classes=_identity_sharing_classes(),
                certificates=held(of_subjects(_silver(settings, "certificate"))),
                registry=held(of_subjects(registry)),
                alerts=held(of_subjects(alerts)),
                items=items,
                as_of=moment,
            )
        ),
    )
    # The progress query's table: per case, so a case's rows are replaced with its subject's.
    progress_uri = _gold_uri(settings, "case_progress")
    if subjects is None or not DeltaTable.isDeltaTable(spark, progress_uri):
        write("case_progress", gold_case_progress(cases, events))
    else:
        with job_description(spark, "gold/case_progress (changed subjects)"):
            incremental.swap_scope(
                spark,
                progress_uri,
                gold_case_progress(subject_cases, subject_events),
                subject_cases.select(*CASE_KEYS),
            )
    (counts,) = profiles.agg(
        F.count("*").alias("subjects"),
        F.count_if(F.size("departments") > 1).alias("multi_department"),
    ).collect()
    built: dict[str, Any] = counts.asDict()
    built["materials_on_file"] = registry.count()
    built["alerts"] = alerts.count()
    built["mode"] = "full" if subjects is None else "incremental"
    built["subjects_rebuilt"] = built["subjects"] if subjects is None else subjects.count()
    spark.createDataFrame(
        [
            (
                dt.datetime.now(DISTRICT_TIMEZONE),
                moment_at,
                built["mode"],
                {n: v for n, v in versions.items() if v is not None},
                built["subjects_rebuilt"],
            )
        ],
        GOLD_BUILD_SCHEMA,
    ).write.format("delta").mode("append").save(table_uri(settings, *GOLD_BUILDS))
    log.info(
        "gold (%s, %d subjects rebuilt): %d subjects (%d in several departments), %d materials on file, "
        "%d supervision alerts",
        built["mode"],
        built["subjects_rebuilt"],
        built["subjects"],
        built["multi_department"],
        built["materials_on_file"],
        built["alerts"],
    )
    return built


# Commits of the table upkeep (`jobs/maintenance.py`), which leave a table's rows as they were.
UPKEEP_OPERATIONS = ("OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES")
# What a case's throughput facts are built from; `gold/case_facts` records their versions.
FACT_SOURCES = ("case", "case_event", "material", "courier_delivery")
CASE_KEYS = ["department", "case_id"]


def _source_versions(spark: SparkSession, uri: str) -> dict[str, int | None] | None:
    """The versions of its sources a table was last built from (the case facts: silver's; the
    throughput marts: the facts' and the reuse events'): the user metadata of the latest commit
    that changed its rows (upkeep commits after it change none). None when that commit carries
    none, as after a restore."""
    if not DeltaTable.isDeltaTable(spark, uri):
        return None
    changes = (
        DeltaTable.forPath(spark, uri)
        # A build's upkeep adds a few commits; past these many, the facts are simply rebuilt whole.
        .history(20)
        .where(~F.col("operation").isin(*UPKEEP_OPERATIONS))
        .orderBy(F.col("version").desc())
        .limit(1)
    )
    last = changes.select("userMetadata").collect()
    if not last or not last[0]["userMetadata"]:
        return None
    versions: dict[str, int | None] = json.loads(last[0]["userMetadata"]).get("source_versions", {})
    return versions


def _cases_with_changed_facts(settings: Settings, before: dict[str, int], now: dict[str, int]) -> DataFrame:
    """The (department, case_id) whose facts may differ since the `before` versions: cases, events
    and consignments that changed, and every case holding a material of a subject and file
    (sha256) that changed, since which copy of a file counts as reused depends on all of them."""
    spark = get_spark(settings)
    frames = [spark.createDataFrame([], "department string, case_id string")]
    for name in ("case", "case_event", "courier_delivery"):
        if now[name] != before[name]:
            changed = incremental.changed_rows(
                spark, table_uri(settings, "silver", name), before[name], now[name]
            )
            frames.append(changed.select(*CASE_KEYS))
    if now["material"] != before["material"]:
        changed = incremental.changed_rows(
            spark, table_uri(settings, "silver", "material"), before["material"], now["material"]
        )
        same_files = _silver(settings, "material").join(
            _few(changed.select("subject_id", "sha256").distinct()), ["subject_id", "sha256"], "left_semi"
        )
        frames += [changed.select(*CASE_KEYS), same_files.select(*CASE_KEYS)]
    return incremental.union_distinct(frames)


def _few(keys: DataFrame) -> DataFrame:
    """`keys` computed once and, when they are few (a day's changes), broadcast to the joins that
    pick their rows from a whole table, which is then neither shuffled nor sorted for them."""
    keys = keys.localCheckpoint()
    return F.broadcast(keys) if keys.count() <= BROADCAST_KEYS_LIMIT else keys


def build_case_facts(settings: Settings, calendar: CalendarArrays, *, rebuild: bool = False) -> DataFrame:
    """`gold/case_facts`, one row per case with what the throughput marts count, and return it.

    Rebuilt whole the first time (or with `rebuild`, after a source table was restored, or when the
    facts gained or lost a column); later only the cases whose facts may have changed since
    (silver's Change Data Feed) are recomputed and replaced, since the facts do not depend on the
    moment of the build.
    """
    spark = get_spark(settings)
    uri = _gold_uri(settings, "case_facts")
    now = {n: incremental.table_version(spark, table_uri(settings, "silver", n)) for n in FACT_SOURCES}
    built = None if rebuild else _source_versions(spark, uri)
    before = None if built is None else {n: v for n, v in built.items() if v is not None}
    if before is not None and any(
        now[n] is None
        or n not in before
        or before[n] > now[n]  # type: ignore[operator]
        or incremental.restored_since(spark, table_uri(settings, "silver", n), before[n])
        for n in FACT_SOURCES
    ):
        before = None
    cases, events = _silver(settings, "case"), _silver(settings, "case_event")
    materials, deliveries = _silver(settings, "material"), _silver(settings, "courier_delivery")
    every_case = throughput.case_facts(
        cases, events=events, materials=materials, deliveries=deliveries, calendar=calendar
    )
    # A MERGE cannot fill a new column in the rows it leaves alone (compares the plan's schema only).
    if before is not None and spark.read.format("delta").load(uri).columns != every_case.columns:
        before = None
    metadata = json.dumps({"source_versions": {n: v for n, v in now.items() if v is not None}})
    spark.conf.set(COMMIT_METADATA, metadata)
    try:
        if before is None:
            # Only the marts' build reads the facts (no API): a day's changed cases, scattered
            # over every file, are then marked deleted there instead of every file rewritten.
            # Its change feed tells the throughput marts which cases' figures moved.
            gold.write_gold(every_case, uri, deletion_vectors=True, change_data_feed=True)
        else:
            changed = _few(
                _cases_with_changed_facts(settings, before, {n: v for n, v in now.items() if v is not None})
            )
            their_files = _few(
                materials.join(changed, CASE_KEYS, "left_semi").select("subject_id", "sha256").distinct()
            )
            facts = throughput.case_facts(
                cases.join(changed, CASE_KEYS, "left_semi"),
                events=events.join(changed, CASE_KEYS, "left_semi"),
                materials=materials.join(their_files, ["subject_id", "sha256"], "left_semi"),
                deliveries=deliveries.join(changed, CASE_KEYS, "left_semi"),
                calendar=calendar,
            )
            incremental.replace_scope(spark, uri, facts, CASE_KEYS, changed)
    finally:
        spark.conf.unset(COMMIT_METADATA)
    return spark.read.format("delta").load(uri)


def build_marts(
    settings: Settings, as_of: dt.datetime | None = None, *, rebuild: bool = False
) -> dict[str, Any]:
    """Build the analysts' and supervisors' marts after the subject tables: the throughput marts
    from the case facts, both kept up to date incrementally (see `build_case_facts` and
    `_build_throughput`), the rest whole."""
    spark = get_spark(settings)
    moment = F.lit(_moment(as_of)).cast("timestamp")
    cases, events = _silver(settings, "case"), _silver(settings, "case_event")
    calendar = load_calendar()
    arrays = CalendarArrays.of(calendar)

    write = partial(_write_gold_table, settings)
    write(
        "working_calendar",
        spark.createDataFrame(gold.working_calendar_rows(calendar), gold.WORKING_CALENDAR_SCHEMA),
    )
    alerts = spark.read.format("delta").load(_gold_uri(settings, "supervision_alert"))
    write("supervision_monthly", supervision.monthly_alert_counts(alerts))
    reuse_events = _reuse_events(settings)
    write("reuse_feedback_monthly", reuse_feedback_monthly(reuse_events))
    with job_description(spark, "gold/case_facts"):
        build_case_facts(settings, arrays, rebuild=rebuild)
    built = _build_throughput(settings, reuse_events, rebuild=rebuild)
    daily = spark.read.format("delta").load(_gold_uri(settings, "throughput_daily"))
    evaluations = _silver(settings, "evaluation")
    reviews = write("evaluation_bad_review", service_quality.bad_reviews(evaluations, arrays, moment))
    write("evaluation_summary", service_quality.evaluation_summary(evaluations, reviews, cases))
    write("consistency", service_quality.consistency(cases, events, arrays))
    (totals,) = daily.agg(F.sum("received").alias("received"), F.sum("decided").alias("decided")).collect()
    log.info("gold marts: %s cases received, %s decided", totals["received"], totals["decided"])
    return {"received": totals["received"] or 0, "decided": totals["decided"] or 0, "throughput": built}


THROUGHPUT_MARTS = {"throughput_daily": throughput.by_day, "throughput_monthly": throughput.by_month}


def _build_throughput(settings: Settings, reuse_events: DataFrame, *, rebuild: bool) -> dict[str, str]:
    """The throughput marts, and how each was built: whole, its touched periods, or not at all.

    Each is built whole the first time; later only the rows of the periods the changed cases'
    facts (their Change Data Feed) and new reuse events touched are rebuilt, with every later
    period of their groups, whose backlog follows from them. A mart's commit records the versions
    of the facts and the reuse events it was built from.
    """
    spark = get_spark(settings)
    facts_uri = _gold_uri(settings, "case_facts")
    facts_version = incremental.table_version(spark, facts_uri)
    facts = spark.read.format("delta").option("versionAsOf", facts_version).load(facts_uri)
    sources = {
        # Facts made before they kept a change feed (upkeep turns it on) say nothing of their changes.
        "case_facts": facts_version if _keeps_change_feed(spark, facts_uri) else None,
        "reuse_event": incremental.table_version(spark, table_uri(settings, *REUSE_EVENT)),
    }
    has_feedback = not reuse_events.isEmpty()

    def with_feedback(rows: DataFrame) -> DataFrame:
        # Applied to the facts as read, never stored in them: an event about a case that did not
        # change since the last build counts as soon as it is shipped.
        return throughput.with_window_feedback(rows, reuse_events) if has_feedback else rows

    # Per mart: None to build it whole, else the groups to rebuild and the period each starts at.
    scopes: dict[str, DataFrame | None] = {}
    # The marts are usually built from the same versions: their changes since are read once.
    changes_since: dict[tuple[int | None, int | None], DataFrame | None] = {}
    for name, period in THROUGHPUT_MARTS.items():
        columns = throughput.throughput(facts, period).columns
        built_from = None if rebuild else _mart_built_from(spark, _gold_uri(settings, name), columns)
        changes = None
        if built_from is not None:
            then = (built_from.get("case_facts"), built_from.get("reuse_event"))
            if then not in changes_since:
                found = _throughput_changes(settings, then, facts, sources)
                changes_since[then] = None if found is None else found.localCheckpoint()
            changes = changes_since[then]
        scopes[name] = (
            None
            if changes is None
            else throughput.scope_of(throughput.touched_cells(changes, period)).localCheckpoint()
        )
    modes = {
        name: "full" if scope is None else "unchanged" if scope.isEmpty() else "incremental"
        for name, scope in scopes.items()
    }
    for name, scope in scopes.items():
        if scope is not None and modes[name] == "incremental" and _mostly_in(settings, name, scope):
            modes[name], scopes[name] = "full", None
    if set(modes.values()) == {"unchanged"}:
        return modes
    touched = [scope for name, scope in scopes.items() if scope is not None and modes[name] == "incremental"]
    # What the marts read of the facts, read once: all of them when a mart is built whole, else
    # those of the touched groups' months from their earliest touched one on.
    needed = (
        facts
        if "full" in modes.values()
        else throughput.facts_in_scope(facts, throughput.by_month, throughput.covering_months(touched))
    )
    read = with_feedback(needed).persist()
    spark.conf.set(COMMIT_METADATA, json.dumps({"source_versions": sources}))
    try:
        for name, period in THROUGHPUT_MARTS.items():
            uri, scope = _gold_uri(settings, name), scopes[name]
            with job_description(spark, f"gold/{name}"):
                if modes[name] == "unchanged":
                    continue
                if scope is None:
                    gold.write_gold(throughput.throughput(read, period), uri)
                    continue
                built = spark.read.format("delta").load(uri)
                rows = throughput.throughput_since(
                    throughput.facts_in_scope(read, period, scope), period, scope, built
                )
                gold.write_gold(throughput.outside_scope(built, scope).unionByName(rows), uri)
    finally:
        spark.conf.unset(COMMIT_METADATA)
        read.unpersist()
    return modes


# An incremental build of a throughput mart whose rows to replace hold more than this share of its
# cases reads nearly as many facts as a whole build, and joins more: it is built whole.
WHOLE_FROM_SHARE = 0.5


def _mostly_in(settings: Settings, name: str, scope: DataFrame) -> bool:
    """Whether the mart's rows in `scope` hold more than `WHOLE_FROM_SHARE` of the cases it counts
    received (the mart's own figures; a few hundred rows a day, not the facts)."""
    spark = get_spark(settings)
    built = spark.read.format("delta").load(_gold_uri(settings, name))
    (total,) = built.agg(F.sum("received")).collect()[0]
    (outside,) = throughput.outside_scope(built, scope).agg(F.sum("received")).collect()[0]
    return bool(total) and (total - (outside or 0)) > WHOLE_FROM_SHARE * total


def _keeps_change_feed(spark: SparkSession, uri: str) -> bool:
    properties = DeltaTable.forPath(spark, uri).detail().select("properties").collect()[0][0] or {}
    return all(properties.get(k) == v for k, v in gold.CHANGE_DATA_FEED.items())


def _mart_built_from(spark: SparkSession, uri: str, columns: list[str]) -> dict[str, int | None] | None:
    """The source versions the mart at `uri` was built from, or None when it is to be built whole:
    none yet, or its `columns` changed."""
    built = _source_versions(spark, uri)
    if built is None or spark.read.format("delta").load(uri).columns != columns:
        return None
    return built


def _throughput_changes(
    settings: Settings,
    built_from: tuple[int | None, int | None],
    facts: DataFrame,
    sources: dict[str, int | None],
) -> DataFrame | None:
    """The facts rows, with `throughput.SIGN`, of every case whose figures in a mart built from
    these versions of the facts and the reuse events may have moved since (see
    `throughput.touched_cells`), or None when the mart is to be built whole: the facts rebuilt or
    restored since, or their change feed or the reuse events' history not reaching back to it."""
    spark = get_spark(settings)
    then, now = built_from[0], sources["case_facts"]
    if then is None or now is None or then > now:
        return None
    facts_uri = _gold_uri(settings, "case_facts")
    frames = [facts.limit(0).withColumn(throughput.SIGN, F.lit(1))]
    if now > then:
        operations = {
            row[0]
            for row in DeltaTable.forPath(spark, facts_uri)
            .history()
            .where(F.col("version") > then)
            .select("operation")
            .collect()
        }
        if not operations <= {"MERGE", *UPKEEP_OPERATIONS}:
            return None
        changed = incremental.changed_rows(spark, facts_uri, then, now)
        sign = F.when(F.col(CHANGE_TYPE).isin("insert", "update_postimage"), 1).otherwise(-1)
        frames.append(changed.select(*facts.columns, sign.alias(throughput.SIGN)))
    events_then, events_now = built_from[1], sources["reuse_event"]
    if events_now != events_then:
        if events_now is None or (events_then is not None and events_then > events_now):
            return None
        events_uri = table_uri(settings, *REUSE_EVENT)
        new_events = spark.read.format("delta").load(events_uri)
        if events_then is not None:
            earlier = spark.read.format("delta").option("versionAsOf", events_then).load(events_uri)
            new_events = new_events.join(earlier.select("event_id"), "event_id", "left_anti")
        # Their cases' facts read the same; counted once, they mark the cells to rebuild.
        their_cases = facts.join(new_events.select(*CASE_KEYS).distinct(), CASE_KEYS, "left_semi")
        frames.append(their_cases.withColumn(throughput.SIGN, F.lit(1)))
    return reduce(DataFrame.unionByName, frames)


def _reuse_events(settings: Settings) -> DataFrame:
    """What gold reads of the windows' reuse events, or none before the first was shipped."""
    spark = get_spark(settings)
    uri = table_uri(settings, *REUSE_EVENT)
    columns = spark.createDataFrame([], REUSE_EVENT_COLUMNS)
    if not DeltaTable.isDeltaTable(spark, uri):
        return columns
    return spark.read.format("delta").load(uri).select(*columns.columns)


def _gold_uri(settings: Settings, name: str) -> str:
    return table_uri(settings, "gold", name)


def _write_gold_table(settings: Settings, name: str, df: DataFrame) -> DataFrame:
    """Rebuild a gold table whole, its Spark jobs named after it, and read it back."""
    with job_description(df.sparkSession, f"gold/{name}"):
        gold.write_gold(df, _gold_uri(settings, name), deletion_vectors=name in SUBJECT_TABLES)
    return df.sparkSession.read.format("delta").load(_gold_uri(settings, name))


def replay_quarantine(settings: Settings) -> dict[str, int]:
    """Re-conform every quarantined row with today's mappings and contracts.

    Rows that pass now are upserted into silver and leave quarantine; the rest stay, with the
    rules they break now. Meant for after a mapping or contract fix. Contracts replay in silver
    order, so a case released first lets its materials' reference resolve.
    """
    spark = get_spark(settings)
    quarantine_uri = table_uri(settings, *QUARANTINE)
    # Checkpoint what is read: the quarantine table is rewritten below from rows derived from it.
    held = (
        spark.read.format("delta")
        .load(quarantine_uri)
        .select(
            "contract",
            "_department",
            "_batch_id",
            F.col("raw_record").alias(bronze.RECORD),
            "_source_file",
            "_source_line",
        )
        .localCheckpoint()
    )
    # Only the (contract, department) pairs that hold rows are checked again.
    held_pairs = {(r[0], r[1]) for r in held.select("contract", "_department").distinct().collect()}
    totals = {"replayed": 0, "released": 0, "still_quarantined": 0}
    mappings = load_mappings(settings.mappings_dir)
    for name in SILVER_CONTRACTS:
        departments = [d for d, m in mappings.items() if m.sends(name) and (name, d) in held_pairs]
        if not departments:
            continue
        contract = load_contract(name)
        rules = compile_row_rules(contract, load_code_lists(), reference_data(settings, contract))
        # Held rows are records of the contract already: nested ones were unwrapped when held.
        sent = {
            d: held.where((F.col("contract") == name) & (F.col("_department") == d)).drop("contract")
            for d in departments
        }
        label = f"replay of {name}"
        hash_key = settings.case_code_key.get_secret_value().encode()
        with _checked(sent, mappings, contract, rules, label, hash_key=hash_key) as (
            released,
            still,
            results,
        ):
            result = silver.Reconciliation(
                label,
                sum(r.rows_in for r in results),
                sum(r.rows_valid for r in results),
                sum(r.rows_quarantined for r in results),
            )
            if result.rows_in == 0:
                continue
            _upsert(settings, contract, released)
            listed = ", ".join(f"'{d}'" for d in departments)
            still.write.format("delta").mode("overwrite").option(
                "replaceWhere", f"contract = '{name}' AND _department IN ({listed})"
            ).save(quarantine_uri)
        totals["replayed"] += result.rows_in
        totals["released"] += result.rows_valid
        totals["still_quarantined"] += result.rows_quarantined
    log.info(
        "quarantine replay: %(replayed)d rows, %(released)d released, %(still_quarantined)d still held",
        totals,
    )
    return totals


# Gold's tables of subjects and their cases, whose rows a later build of the day replaces for the
# subjects that changed: they keep deletion vectors, so that MERGE writes what changed, not the table.
SUBJECT_TABLES = frozenset({"subject_profile", "material_registry", "supervision_alert", "case_progress"})
GOLD_TABLES = (
    "case_facts",
    "case_progress",
    "subject_profile",
    "material_registry",
    "supervision_alert",
    "supervision_monthly",
    "throughput_daily",
    "throughput_monthly",
    "evaluation_bad_review",
    "evaluation_summary",
    "consistency",
    "working_calendar",
)
# Gold tables that may be empty: they count what windows reported, which a build may not have yet.
FEEDBACK_MARTS = ("reuse_feedback_monthly",)
# Tables that windows and the API look subjects up in: compaction Z-orders them by subject.
BY_SUBJECT = frozenset(
    {
        ("silver", "case"),
        ("silver", "material"),
        ("silver", "certificate"),
        ("gold", "subject_profile"),
        ("gold", "material_registry"),
    }
)


def lake_tables() -> list[tuple[str, str]]:
    """Every Delta table the hub writes, as (layer, name)."""
    return [
        BRONZE_CASES,
        *[("silver", name) for name in CATALOGUE_TABLES],
        *[("silver", contract) for contract in SILVER_CONTRACTS],
        QUARANTINE,
        RECONCILIATION,
        RULE_RESULTS,
        GATE_RESULTS,
        FILE_INCIDENTS,
        TASK_FAILURES,
        GOLD_BUILDS,
        *[("gold", name) for name in (*GOLD_TABLES, *FEEDBACK_MARTS)],
    ]


def lake_table_uri(settings: Settings, table: str) -> str:
    """The URI of `layer.name` (as the CLI names tables), or a ValueError naming the known ones."""
    known = {f"{layer}.{name}": (layer, name) for layer, name in lake_tables()}
    if table not in known:
        raise ValueError(f"unknown table {table!r}; the lakehouse has: {', '.join(sorted(known))}")
    return table_uri(settings, *known[table])


def _kept_properties(layer: str, name: str) -> dict[str, str] | None:
    """Table features a table made before it was created with them gets at its next upkeep."""
    if layer == "silver" and name in SILVER_CONTRACTS:
        return silver.DELETION_VECTORS
    if (layer, name) == ("gold", "case_facts"):
        return gold.CHANGE_DATA_FEED
    if layer == "gold" and name in SUBJECT_TABLES:
        return silver.DELETION_VECTORS
    return None


def maintain_lakehouse(settings: Settings) -> list[dict[str, Any]]:
    """Upkeep of every table that exists: audit-window retention, compaction, a weekly vacuum.

    Runs as the last step of the build, so it is never a second writer beside it.
    """
    spark = get_spark(settings)
    done = []
    for layer, name in lake_tables():
        uri = table_uri(settings, layer, name)
        if not DeltaTable.isDeltaTable(spark, uri):
            continue
        upkeep = maintenance.upkeep(
            spark,
            f"{layer}.{name}",
            uri,
            retention_days=settings.audit_retention_days,
            zorder_by=("subject_id",) if (layer, name) in BY_SUBJECT else (),
            keep=_kept_properties(layer, name),
        )
        if upkeep.files_before != upkeep.files_after or upkeep.vacuumed:
            log.info(
                "%s: %d -> %d files%s",
                upkeep.table,
                upkeep.files_before,
                upkeep.files_after,
                ", vacuumed" if upkeep.vacuumed else "",
            )
        done.append(asdict(upkeep))
    return done
