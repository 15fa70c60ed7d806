"""Bronze: each landed record as it came, one JSON text per row, with lineage columns.

Keeping the record as text (not typed columns) means a department's schema drift never breaks
bronze: conforming to the contract happens in silver, where a bad row can be quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.departments import DepartmentMapping
from jobs.landing import LandedBatch, LandedFile

RECORD = "record"


def read_records(spark: SparkSession, uris: list[str], mapping: DepartmentMapping) -> DataFrame:
    """Read landed files into (record, _source_file, _source_line).

    `_source_line` is the 1-based line of a CSV or JSON Lines file, or the 1-based position of the
    record in a JSON document's list of records.
    """
    if not uris:
        return spark.createDataFrame([], f"{RECORD} string, _source_file string, _source_line int")
    file_path = F.col("_metadata.file_path").alias("_source_file")
    if mapping.format == "json":
        documents = spark.read.text(uris, wholetext=True)
        listed = (
            F.get_json_object("value", f"$.{mapping.records_path}")
            if mapping.records_path
            else F.col("value")
        )
        # A string element type keeps each record's own JSON text, nested objects included.
        return documents.select(file_path, F.posexplode(F.from_json(listed, "array<string>"))).select(
            F.col("col").alias(RECORD), "_source_file", (F.col("pos") + 1).cast("int").alias("_source_line")
        )
    if mapping.format == "csv":
        raw = (
            spark.read.option("header", True)
            # RFC 4180 quoting: a quote inside a quoted field is doubled (JSON text in a cell).
            .option("escape", '"')
            .option("encoding", mapping.encoding)
            .option("mode", "PERMISSIVE")
            .csv(uris)
        )
        records = raw.select(
            F.to_json(F.struct(*[F.col(f"`{c}`") for c in raw.columns])).alias(RECORD), file_path
        )
        header_lines = 1
    elif mapping.format == "jsonl":
        records = (
            spark.read.text(uris).select(F.col("value").alias(RECORD), file_path).where(F.trim(RECORD) != "")
        )
        header_lines = 0
    else:
        raise ValueError(f"{mapping.department}: unknown format {mapping.format!r}")
    # Spark reads a file's splits in order and numbers rows increasingly within each split, so this
    # ordering is file order.
    in_file_order = Window.partitionBy("_source_file").orderBy(F.monotonically_increasing_id())
    return records.withColumn("_source_line", (F.row_number().over(in_file_order) + header_lines).cast("int"))


def canonical_uri(uri: str) -> str:
    """A file URI written one way, as `canonical_uri_column` writes Spark's name for the same file:
    Spark reports file:///x as file:/x, and percent-encodes what the URI it was given may not have."""
    return re.sub("^file:/+", "file:///", unquote(uri))


def canonical_uri_column(uri: Column) -> Column:
    decoded = F.try_url_decode(F.replace(uri, F.lit("+"), F.lit("%2B")))
    return F.regexp_replace(decoded, "^file:/+", "file:///")


def with_lineage(
    records: DataFrame, batches: list[LandedBatch], uri_of_key: dict[str, str], source: str
) -> DataFrame:
    """Add where each record came from: department, source system, batch, file, line, checksum, time.

    `records` may come from several batches of one department: each file names its batch.
    """
    (department,) = {b.department for b in batches}
    source_file = canonical_uri_column(F.col("_source_file"))

    def per_file(value: Callable[[LandedBatch, LandedFile], str]) -> Column:
        pairs = [(canonical_uri(uri_of_key[f.key]), value(b, f)) for b in batches for f in b.files]
        by_file = F.create_map(*[F.lit(x) for pair in pairs for x in pair]).cast("map<string,string>")
        return by_file[source_file]

    return records.select(
        F.lit(department).alias("_department"),
        F.lit(source).alias("_source"),
        per_file(lambda b, _: b.batch_id).alias("_batch_id"),
        RECORD,
        "_source_file",
        "_source_line",
        per_file(lambda _, f: f.sha256).alias("_source_sha256"),
        per_file(lambda b, _: b.landed_at).cast("timestamp").alias("_landed_at"),
    )


def unseen_rows(records: DataFrame, landed: DataFrame, row_id: str) -> DataFrame:
    """The records whose change row (named by its `row_id` field) is not among `landed`.

    A record without a row id is kept: it cannot be recognised, and losing it would be worse.
    """
    seen = landed.select(F.get_json_object(RECORD, f"$.{row_id}").alias("_row_id")).distinct()
    return (
        records.withColumn("_row_id", F.get_json_object(RECORD, f"$.{row_id}"))
        .join(seen, "_row_id", "left_anti")
        .drop("_row_id")
    )


def first_sightings(records: DataFrame, row_id: str, batch_order: list[str]) -> DataFrame:
    """Each change row (named by its `row_id` field) once: the copy of the earliest batch in
    `batch_order` when several hold it (a pull that looked back read it again). A record without a
    row id is kept."""
    order = F.create_map(*[F.lit(x) for i, b in enumerate(batch_order) for x in (b, i)])[F.col("_batch_id")]
    earliest_first = Window.partitionBy("_row_id").orderBy(order, "_source_file", "_source_line")
    return (
        records.withColumn("_row_id", F.get_json_object(RECORD, f"$.{row_id}"))
        .withColumn(
            "_sighting", F.when(F.col("_row_id").isNull(), 1).otherwise(F.row_number().over(earliest_first))
        )
        .where("_sighting = 1")
        .drop("_row_id", "_sighting")
    )


def write_bronze(df: DataFrame, table_uri: str, batches: list[LandedBatch]) -> None:
    """Replace exactly these batches' rows, so re-running a batch never duplicates it."""
    (department,) = {b.department for b in batches}
    listed = ", ".join(f"'{b.batch_id}'" for b in batches)
    (
        df.write.format("delta")
        .mode("overwrite")
        .partitionBy("_department")
        .option("replaceWhere", f"_department = '{department}' AND _batch_id IN ({listed})")
        .save(table_uri)
    )
