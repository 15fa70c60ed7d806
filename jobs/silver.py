"""Silver: bronze records conformed to a contract, checked by its row rules, bad rows quarantined.

Each bronze record is parsed once per build (`parse_department`) into a struct of the fields every
contract's mapping reads, and each contract's rows are derived from that (`records_from`);
`conform` and `split_by_rules` are pure DataFrame functions over those parsed rows.
A record's text is not carried along: only the rows held in quarantine get it back
(`with_raw_records`), so valid rows never move their text through the rules' joins.
`jobs/pipeline.py` is the edge that reads bronze, writes silver and the quarantine, and reconciles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StringType, StructField, StructType, TimestampType

from jobs.bronze import RECORD
from jobs.case_progress import keyed_hash, without_secret
from jobs.departments import DepartmentMapping, NestedDataset
from quality.contracts import Contract
from quality.row_rules import UNPARSED, VIOLATIONS, RowRule, reasons_for, tag_violations
from quality.spark_schema import spark_type

LINEAGE = ["_department", "_batch_id", "_source_file", "_source_line"]
SOURCE = "_source"  # the record parsed once: a struct with a string leaf per source path mapped
ELEMENT = "_element"  # a nested record's position in its case record's list; null for a case record
QUARANTINE_COLUMNS = [
    "contract",
    "contract_version",
    "rule_ids",
    "reasons",
    "raw_record",
    *LINEAGE,
    "quarantined_at",
]


def source_schema(paths: Iterable[str]) -> StructType:
    """A struct with a string leaf at each dotted path, to parse a record into in one pass.

    A string leaf keeps a number's or an object's JSON text, as `get_json_object` would, so a value
    that does not fit the contract's type still reaches the type rule as it was sent.
    """
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if node is None:
                raise ValueError(f"source path {path}: {part} is mapped as a value and as an object")
        if isinstance(node.get(leaf), dict):
            raise ValueError(f"source path {path} is mapped as a value and as an object")
        node[leaf] = None

    def struct(node: dict[str, Any]) -> StructType:
        return StructType([StructField(k, StringType() if v is None else struct(v)) for k, v in node.items()])

    return struct(tree)


def _at(root: Column, path: str) -> Column:
    for part in path.split("."):
        root = root.getField(part)
    return root


def _source_value(source_path: str) -> Column:
    raw = _at(F.col(SOURCE), source_path)
    # Departments write "" for an empty value as often as they omit it.
    return F.when(F.trim(raw) != "", F.trim(raw))


def parse_records(bronze: DataFrame, mapping: DepartmentMapping) -> DataFrame:
    """Parse each bronze record once into `_source`, with the fields `mapping` reads; other columns
    (the record's text among them) stay."""
    return bronze.withColumn(SOURCE, F.from_json(RECORD, source_schema(mapping.fields.values())))


def records_of(bronze: DataFrame, mapping: DepartmentMapping, contract: str) -> DataFrame:
    """One department's bronze rows as parsed records of `contract` (its case records, or the
    records nested in them), with lineage and no text."""
    if contract == mapping.contract:
        return _case_records(parse_records(bronze, mapping))
    return nested_records(bronze, mapping.nested[contract])


def _case_records(parsed: DataFrame) -> DataFrame:
    """Parsed case records as a contract's rows: lineage, no position in a list, `_source`."""
    return parsed.select(*LINEAGE, F.lit(None).cast("int").alias(ELEMENT), SOURCE)


def paths_read(mapping: DepartmentMapping, contract: str) -> list[str]:
    """The paths into a department's case record that its rows of `contract` are read from: the
    case record's fields, or the list of nested records and the case fields they take."""
    if contract == mapping.contract:
        return list(mapping.fields.values())
    nested = mapping.nested[contract]
    return [*_relative(nested.fields.values(), "parent."), nested.path]


def _one_struct(paths: list[str]) -> bool:
    try:
        source_schema(paths)
    except ValueError:
        return False
    return True


def parsed_together(mapping: DepartmentMapping) -> list[str]:
    """The contracts whose rows `parse_department` parses in one struct: the case records, then
    each nested contract whose paths fit beside the ones before it.

    A list that is also read as an object does not fit (food_drug's `applicant` is the subject's
    record, and the case reads `applicant.idNo`): a struct holds it either as the text the nested
    records are split from or as fields, not both, so that contract is parsed on its own.
    """
    together: list[str] = []
    paths: list[str] = []
    for contract in (mapping.contract, *mapping.nested):
        if _one_struct([*paths, *paths_read(mapping, contract)]):
            together.append(contract)
            paths += paths_read(mapping, contract)
    return together


def parse_department(bronze: DataFrame, mapping: DepartmentMapping) -> DataFrame:
    """One department's bronze records, each parsed once into `_source` with every field the
    contracts in `parsed_together` read (the nested lists as their text), with lineage and no text.

    Every leaf is a string, so a value is kept as sent whatever its type; an object expected where
    something else was sent leaves that field null and the record's other fields as they are, so
    each contract reads from this struct what it would from one holding only its own paths
    (`tests/spark/test_silver.py` checks both ways conform alike).
    """
    paths = [p for c in parsed_together(mapping) for p in paths_read(mapping, c)]
    return bronze.select(*LINEAGE, F.from_json(RECORD, source_schema(paths)).alias(SOURCE))


def records_from(
    parsed: DataFrame, bronze: DataFrame, mapping: DepartmentMapping, contract: str
) -> DataFrame:
    """A department's records of `contract`, as `records_of` gives them, from its records parsed
    once (`parse_department`); a contract not parsed with the others is parsed from `bronze`."""
    if contract not in parsed_together(mapping):
        return records_of(bronze, mapping, contract)
    if contract == mapping.contract:
        return _case_records(parsed)
    return elements_of(parsed, mapping.nested[contract])


def _timestamp(raw: Column, source_format: str) -> Column:
    if source_format == "epoch_millis":
        return F.timestamp_millis(raw.try_cast("long"))
    return F.try_to_timestamp(raw, F.lit(source_format))


def conform(
    records: DataFrame, mapping: DepartmentMapping, contract: Contract, *, hash_key: bytes | None = None
) -> DataFrame:
    """Rename, recode and type one department's records into the contract's columns.

    A field the contract marks `keyedHash` (a case's verification code) is kept only as its HMAC
    under `hash_key` (`HUB_CASE_CODE_KEY`), which such a contract requires.

    `records` are parsed (`records_of`), or bronze rows, parsed here keeping their text (the
    quarantine shows it). A value that does not parse becomes null and its field is listed in
    `_unparsed`, so the type rule can quarantine the row with the reason instead of losing the value
    silently.
    """
    if SOURCE not in records.columns:
        records = parse_records(records, mapping)
    typed: list[Column] = []
    unparsed: list[Column] = []
    for field in contract.fields:
        if field.name == "department":
            typed.append(F.lit(mapping.department).alias(field.name))
            continue
        source = mapping.fields.get(field.name)
        raw = _source_value(source) if source else F.lit(None).cast("string")
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
        if field.keyed_hash:
            if hash_key is None:
                raise ValueError(
                    f"{contract.name}.{field.name} is kept as a keyed hash: conform needs the key"
                )
            value = keyed_hash(value, field.keyed_hash, hash_key)
        typed.append(value.alias(field.name))
        if field.physical_type != "string":
            unparsed.append(F.when(raw.isNotNull() & value.isNull(), F.lit(field.name)))
    unparsed_col = F.filter(F.array(*unparsed), lambda x: x.isNotNull()) if unparsed else F.array()
    kept = [c for c in (ELEMENT, RECORD) if c in records.columns]
    return records.select(*typed, unparsed_col.alias(UNPARSED), *LINEAGE, *kept)


def _element_texts(listed: Column) -> Column:
    """The JSON text of each element of a nested list. A single object counts as a list of one. A
    list that is there but not JSON gives one null element, so its record is quarantined (its fields
    are missing) instead of vanishing; a missing or empty list gives none."""
    as_list = F.when(F.ltrim(listed).startswith("{"), F.concat(F.lit("["), listed, F.lit("]"))).otherwise(
        listed
    )
    return F.when(as_list.isNull() | (F.trim(as_list) == ""), F.array().cast("array<string>")).otherwise(
        F.coalesce(F.from_json(as_list, "array<string>"), F.array(F.lit(None).cast("string")))
    )


def _relative(paths: Iterable[str], prefix: str) -> list[str]:
    return [p.removeprefix(prefix) for p in paths if p.startswith(prefix)]


def nested_records(bronze: DataFrame, nested: NestedDataset) -> DataFrame:
    """One parsed row per element of each record's nested list (a case's materials), its
    `_source` being {parent: <the case record's fields>, element: <the element's fields>}, so the
    mapping's "parent.<path>" and "element.<path>" read it. Lineage stays the case record's, and
    `_element` is the element's position in the list."""
    _check_nested_paths(nested)
    parent_paths = _relative(nested.fields.values(), "parent.")
    parent = F.from_json(RECORD, source_schema([*parent_paths, nested.path])).alias(SOURCE)
    return elements_of(bronze.select(*LINEAGE, parent), nested)


def _check_nested_paths(nested: NestedDataset) -> None:
    stray = [p for p in nested.fields.values() if not p.startswith(("parent.", "element."))]
    if stray:
        raise ValueError(
            f"nested {nested.path}: source paths {stray} start with neither parent. nor element."
        )


def _fields(root: Column, schema: StructType) -> Column:
    """The fields of `schema` taken from the struct `root`, nested as they are in it."""
    return F.struct(
        *[
            (
                _fields(root.getField(f.name), f.dataType)
                if isinstance(f.dataType, StructType)
                else root.getField(f.name)
            ).alias(f.name)
            for f in schema.fields
        ]
    )


def elements_of(parsed: DataFrame, nested: NestedDataset) -> DataFrame:
    """`nested_records` from case records already parsed into `_source` (with the list's text at
    `nested.path` and the parent fields its records read)."""
    _check_nested_paths(nested)
    parent_paths = _relative(nested.fields.values(), "parent.")
    # Only the case fields the nested records read go with each element: not the lists' text.
    parent_fields = _fields(F.col(SOURCE), source_schema(parent_paths)) if parent_paths else F.lit(None)
    exploded = parsed.select(
        *LINEAGE,
        parent_fields.alias("_parent"),
        F.posexplode(_element_texts(_at(F.col(SOURCE), nested.path))).alias(ELEMENT, "_element_text"),
    )
    element_fields = F.from_json(
        "_element_text", source_schema(_relative(nested.fields.values(), "element."))
    )
    return exploded.select(
        *LINEAGE,
        ELEMENT,
        F.struct(F.col("_parent").alias("parent"), element_fields.alias("element")).alias(SOURCE),
    )


@dataclass(frozen=True)
class SplitResult:
    valid: DataFrame
    quarantined: DataFrame


def valid_rows(tagged: DataFrame, contract: Contract) -> DataFrame:
    return tagged.where(F.size(VIOLATIONS) == 0).select(*contract.field_names, *LINEAGE)


def quarantine_rows(tagged: DataFrame, rules: list[RowRule], contract: Contract) -> DataFrame:
    """Rows that broke any rule, with the rule ids, readable reasons and the raw record when the
    rows carry their text (else null until `with_raw_records` puts it back, by `_element`)."""
    reasons = F.create_map(*[F.lit(x) for kv in reasons_for(rules).items() for x in kv])
    raw = F.col(RECORD) if RECORD in tagged.columns else F.lit(None).cast("string")
    located = [ELEMENT] if ELEMENT in tagged.columns else []
    return tagged.where(F.size(VIOLATIONS) > 0).select(
        F.lit(contract.name).alias("contract"),
        F.lit(contract.version).alias("contract_version"),
        F.col(VIOLATIONS).alias("rule_ids"),
        F.transform(VIOLATIONS, lambda rule_id: reasons[rule_id]).alias("reasons"),
        raw.alias("raw_record"),
        *LINEAGE,
        F.current_timestamp().alias("quarantined_at"),
        *located,
    )


def with_raw_records(
    quarantined: DataFrame,
    bronze: DataFrame,
    nested_paths: Mapping[str, Mapping[str, str]],
    *,
    broadcast: bool,
    secrets: Mapping[str, str] | None = None,
    hash_key: bytes | None = None,
) -> DataFrame:
    """The held rows with the record each came from, found in bronze by its lineage: a case
    record's text, or for a record nested in one (contract -> department -> the list's path in
    `nested_paths`) {"parent": <the case record>, "element": <the element>}, which is what a replay
    re-conforms. The held rows of every contract are looked up together, so bronze's text is read
    once however many contracts held rows.

    `broadcast` when the held rows are few, so bronze is scanned once and not shuffled. A value at
    a department's path in `secrets` (a verification code) is replaced in the text by its HMAC
    under `hash_key`: the quarantine is past bronze.
    """
    held = quarantined.drop("raw_record")
    located = held.select(*LINEAGE).distinct()
    # Spark broadcasts only the right side of a join: bronze is narrowed by a semi join first.
    records = bronze.select(*LINEAGE, RECORD).join(
        F.broadcast(located) if broadcast else located, LINEAGE, "left_semi"
    )
    joined = held.join(records, LINEAGE, "left")
    if secrets:
        if hash_key is None:
            raise ValueError("a record's secrets are replaced by their keyed hash: the key is needed")
        record = F.col(RECORD)
        for department, path in secrets.items():
            record = F.when(
                F.col("_department") == department, without_secret(F.col(RECORD), path, hash_key)
            ).otherwise(record)
        joined = joined.withColumn(RECORD, record)
    raw = F.col(RECORD)
    for contract, paths in nested_paths.items():
        for department, path in paths.items():
            element = F.get(
                _element_texts(_at(F.from_json(RECORD, source_schema([path])), path)), F.col(ELEMENT)
            )
            wrapped = F.concat(
                F.lit('{"parent":'),
                F.col(RECORD),
                F.lit(',"element":'),
                F.coalesce(element, F.lit("null")),
                F.lit("}"),
            )
            nested_here = (
                (F.col("contract") == contract)
                & (F.col("_department") == department)
                & F.col(ELEMENT).isNotNull()
            )
            raw = F.when(nested_here, wrapped).otherwise(raw)
    return joined.withColumn("raw_record", raw).select(*QUARANTINE_COLUMNS)


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


def reconcile(tagged: DataFrame) -> list[Reconciliation]:
    """Per batch, the rows read and how the rules split them, counted in one pass.

    A row whose violations are not a list (neither valid nor held) would break the sum.
    """
    size = F.size(VIOLATIONS)
    counts = tagged.groupBy("_batch_id").agg(
        F.count("*").alias("rows_in"),
        F.count_if(size == 0).alias("rows_valid"),
        F.count_if(size > 0).alias("rows_held"),
    )
    return [Reconciliation(*r) for r in sorted(counts.collect())]


# A MERGE into a table with deletion vectors marks the rows it replaces deleted instead of rewriting
# every file that a day's scattered updates touch (all of them, at any size).
DELETION_VECTORS = {"delta.enableDeletionVectors": "true"}


def upsert(
    spark: SparkSession, df: DataFrame, table_uri: str, keys: list[str], version: str | tuple[str, ...]
) -> None:
    """Insert new keys; update a key only with a version at least as new as the stored one.

    So an older state of a case that arrives late, or again, never overwrites a newer one.
    """
    if not DeltaTable.isDeltaTable(spark, table_uri):
        (
            df.write.format("delta")
            .option("delta.enableChangeDataFeed", "true")
            .options(**DELETION_VECTORS)
            .save(table_uri)
        )
        return
    condition = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    (
        DeltaTable.forPath(spark, table_uri)
        .alias("t")
        .merge(df.alias("s"), condition)
        # A field a contract's minor version added becomes a column of the table that lacks it.
        .withSchemaEvolution()
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
