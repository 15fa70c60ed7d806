"""Silver: bronze records conformed to a contract, checked by its row rules, bad rows quarantined.

`conform` and `split_by_rules` are pure DataFrame functions; `run_silver` is the edge that reads
bronze, writes the silver table and the quarantine, and checks that the counts reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StringType, TimestampType

from jobs.bronze import RECORD
from jobs.departments import DepartmentMapping, NestedDataset
from quality.contracts import Contract
from quality.row_rules import UNPARSED, VIOLATIONS, RowRule, reasons_for, tag_violations
from quality.spark_schema import spark_type

LINEAGE = ["_department", "_batch_id", "_source_file", "_source_line"]


def _source_value(mapping: DepartmentMapping, source_field: str) -> Column:
    raw = F.get_json_object(F.col(RECORD), "$." + source_field)
    # Departments write "" for an empty value as often as they omit it.
    return F.when(F.trim(raw) != "", F.trim(raw))


def _timestamp(raw: Column, source_format: str) -> Column:
    if source_format == "epoch_millis":
        return F.timestamp_millis(raw.try_cast("long"))
    return F.try_to_timestamp(raw, F.lit(source_format))


def conform(bronze: DataFrame, mapping: DepartmentMapping, contract: Contract) -> DataFrame:
    """Rename, recode and type one department's bronze records into the contract's columns.

    A value that does not parse becomes null and its field is listed in `_unparsed`, so the type
    rule can quarantine the row with the reason instead of losing the value silently.
    """
    typed: list[Column] = []
    unparsed: list[Column] = []
    for field in contract.fields:
        if field.name == "department":
            typed.append(F.lit(mapping.department).alias(field.name))
            continue
        source = mapping.fields.get(field.name)
        raw = _source_value(mapping, source) if source else F.lit(None).cast("string")
        codes = mapping.codes.get(field.name)
        if codes:
            # An unmapped value passes through unchanged so the code-list rule names it.
            code_map = F.create_map(*[F.lit(x) for kv in codes.items() for x in kv])
            raw = F.coalesce(code_map[raw], raw)
        target = spark_type(field.physical_type)
        if isinstance(target, TimestampType):
            value = _timestamp(raw, mapping.timestamp_format)
        elif isinstance(target, DateType):
            value = F.to_date(F.try_to_timestamp(raw, F.lit(mapping.date_format)))
        elif isinstance(target, StringType):
            value = raw
        else:
            value = raw.try_cast(target)
        typed.append(value.alias(field.name))
        if field.physical_type != "string":
            unparsed.append(F.when(raw.isNotNull() & value.isNull(), F.lit(field.name)))
    unparsed_col = F.filter(F.array(*unparsed), lambda x: x.isNotNull()) if unparsed else F.array()
    return bronze.select(*typed, unparsed_col.alias(UNPARSED), RECORD, *LINEAGE)


def nested_records(bronze: DataFrame, nested: NestedDataset) -> DataFrame:
    """One bronze-shaped row per element of each record's nested list (a case's materials): the
    record becomes {"parent": <the case record>, "element": <the element>}; lineage stays the case
    record's. A single object counts as a list of one. A list that is there but not JSON gives one row
    with a null element, so it is quarantined (its fields are missing) instead of vanishing; a
    missing or empty list gives none."""
    value = F.get_json_object(F.col(RECORD), f"$.{nested.path}")
    listed = F.when(F.ltrim(value).startswith("{"), F.concat(F.lit("["), value, F.lit("]"))).otherwise(value)
    parsed = F.from_json(listed, "array<string>")
    elements = F.when(listed.isNull() | (F.trim(listed) == ""), F.array().cast("array<string>")).otherwise(
        F.coalesce(parsed, F.array(F.lit(None).cast("string")))
    )
    others = [c for c in bronze.columns if c != RECORD]
    exploded = bronze.select(*others, RECORD, F.explode(elements).alias("_element"))
    wrapped = F.concat(
        F.lit('{"parent":'),
        F.col(RECORD),
        F.lit(',"element":'),
        F.coalesce("_element", F.lit("null")),
        F.lit("}"),
    )
    return exploded.select(*others, wrapped.alias(RECORD))


@dataclass(frozen=True)
class SplitResult:
    valid: DataFrame
    quarantined: DataFrame


def valid_rows(tagged: DataFrame, contract: Contract) -> DataFrame:
    return tagged.where(F.size(VIOLATIONS) == 0).select(*contract.field_names, *LINEAGE)


def quarantine_rows(tagged: DataFrame, rules: list[RowRule], contract: Contract) -> DataFrame:
    """Rows that broke any rule, with the rule ids, readable reasons and the raw record."""
    reasons = F.create_map(*[F.lit(x) for kv in reasons_for(rules).items() for x in kv])
    return tagged.where(F.size(VIOLATIONS) > 0).select(
        F.lit(contract.name).alias("contract"),
        F.lit(contract.version).alias("contract_version"),
        F.col(VIOLATIONS).alias("rule_ids"),
        F.transform(VIOLATIONS, lambda rule_id: reasons[rule_id]).alias("reasons"),
        F.col(RECORD).alias("raw_record"),
        *LINEAGE,
        F.current_timestamp().alias("quarantined_at"),
    )


def split_by_rules(conformed: DataFrame, rules: list[RowRule], contract: Contract) -> SplitResult:
    tagged = tag_violations(conformed, rules)
    return SplitResult(valid_rows(tagged, contract), quarantine_rows(tagged, rules, contract))


def rule_results(
    quarantined: DataFrame, rules: list[RowRule], batch_ids: list[str], sample_size: int = 5
) -> DataFrame:
    """Per batch and rule: how many rows broke it and the first few source lines that did.

    Every rule gets a row in every batch, zero included, so a rule that stopped firing is visible.
    """
    spark = quarantined.sparkSession
    all_rules = spark.createDataFrame(
        [(b, r.rule_id, r.field) for b in batch_ids for r in rules],
        "batch_id string, rule_id string, field string",
    )
    failures = (
        quarantined.select(
            F.col("_batch_id").alias("batch_id"),
            F.explode("rule_ids").alias("rule_id"),
            "_source_file",
            "_source_line",
        )
        .groupBy("batch_id", "rule_id")
        .agg(
            F.count("*").alias("failed_rows"),
            F.slice(F.sort_array(F.collect_list("_source_line")), 1, sample_size).alias("sample_lines"),
            F.first("_source_file").alias("sample_file"),
        )
    )
    return all_rules.join(failures, ["batch_id", "rule_id"], "left").select(
        "batch_id",
        "rule_id",
        "field",
        F.coalesce("failed_rows", F.lit(0)).alias("failed_rows"),
        F.coalesce("sample_lines", F.array().cast("array<int>")).alias("sample_lines"),
        "sample_file",
    )


def _version(fields: str | tuple[str, ...], alias: str = "") -> str:
    """The SQL of a record's version: its field, or the latest of its fields that are set (an
    evaluation's version is when it was rectified, if it was, else when it was given)."""
    columns = [f"{alias}{f}" for f in ((fields,) if isinstance(fields, str) else fields)]
    return columns[0] if len(columns) == 1 else f"greatest({', '.join(columns)})"


def latest_per_key(df: DataFrame, keys: list[str], version: str | tuple[str, ...]) -> DataFrame:
    """One row per key, the newest by `version`: a batch may hold a case twice, or out of order."""
    newest_first = Window.partitionBy(*keys).orderBy(F.expr(_version(version)).desc())
    return df.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1").drop("_rank")


@dataclass(frozen=True)
class Reconciliation:
    batch_id: str
    rows_in: int
    rows_valid: int
    rows_quarantined: int

    @property
    def holds(self) -> bool:
        return self.rows_in == self.rows_valid + self.rows_quarantined


def upsert(
    spark: SparkSession, df: DataFrame, table_uri: str, keys: list[str], version: str | tuple[str, ...]
) -> None:
    """Insert new keys; update a key only with a version at least as new as the stored one.

    So an older state of a case that arrives late, or again, never overwrites a newer one.
    """
    if not DeltaTable.isDeltaTable(spark, table_uri):
        df.write.format("delta").option("delta.enableChangeDataFeed", "true").save(table_uri)
        return
    condition = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    (
        DeltaTable.forPath(spark, table_uri)
        .alias("t")
        .merge(df.alias("s"), condition)
        .whenMatchedUpdateAll(condition=f"{_version(version, 's.')} >= {_version(version, 't.')}")
        .whenNotMatchedInsertAll()
        .execute()
    )


def replace_batches(
    df: DataFrame,
    table_uri: str,
    batch_ids: list[str],
    column: str = "_batch_id",
    contract: str | None = None,
) -> None:
    """Replace exactly these batches' rows (of one contract, in a table shared by contracts):
    re-running a batch leaves one copy, not two."""
    listed = ", ".join(f"'{b}'" for b in batch_ids)
    where = f"{column} IN ({listed})" + (f" AND contract = '{contract}'" if contract else "")
    df.write.format("delta").mode("overwrite").option("replaceWhere", where).save(table_uri)
