"""Bronze: each landed record as it came, one JSON text per row, with lineage columns.

Keeping the record as text (not typed columns) means a department's schema drift never breaks
bronze: conforming to the contract happens in silver, where a bad row can be quarantined.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.departments import DepartmentMapping
from jobs.landing import LandedBatch

RECORD = "record"


def read_records(spark: SparkSession, uris: list[str], mapping: DepartmentMapping) -> DataFrame:
    """Read landed files into (record, _source_file, _source_line); line numbers are 1-based file lines."""
    if mapping.format == "csv":
        raw = (
            spark.read.option("header", True)
            .option("encoding", mapping.encoding)
            .option("mode", "PERMISSIVE")
            .csv(uris)
        )
        records = raw.select(
            F.to_json(F.struct(*[F.col(f"`{c}`") for c in raw.columns])).alias(RECORD),
            F.col("_metadata.file_path").alias("_source_file"),
        )
        header_lines = 1
    elif mapping.format == "jsonl":
        records = (
            spark.read.text(uris)
            .select(F.col("value").alias(RECORD), F.col("_metadata.file_path").alias("_source_file"))
            .where(F.trim(RECORD) != "")
        )
        header_lines = 0
    else:
        raise ValueError(f"{mapping.department}: unknown format {mapping.format!r}")
    # Spark reads a file's splits in order and numbers rows increasingly within each split, so this
    # ordering is file order.
    in_file_order = Window.partitionBy("_source_file").orderBy(F.monotonically_increasing_id())
    return records.withColumn("_source_line", F.row_number().over(in_file_order) + header_lines)


def with_lineage(records: DataFrame, batch: LandedBatch, uri_of_key: dict[str, str]) -> DataFrame:
    checksums = F.create_map(*[x for f in batch.files for x in (F.lit(uri_of_key[f.key]), F.lit(f.sha256))])
    return records.select(
        F.lit(batch.department).alias("_department"),
        F.lit(batch.batch_id).alias("_batch_id"),
        RECORD,
        "_source_file",
        "_source_line",
        checksums[F.col("_source_file")].alias("_source_sha256"),
        F.lit(batch.landed_at).cast("timestamp").alias("_landed_at"),
    )


def write_bronze(df: DataFrame, table_uri: str, batch: LandedBatch) -> None:
    """Replace exactly this batch's rows, so re-running a batch never duplicates it."""
    (
        df.write.format("delta")
        .mode("overwrite")
        .partitionBy("_department")
        .option("replaceWhere", f"_department = '{batch.department}' AND _batch_id = '{batch.batch_id}'")
        .save(table_uri)
    )
