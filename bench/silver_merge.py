"""Benchmark: silver's MERGE of a day that updates 1% of a table's rows and adds 1% more, into a
table with deletion vectors (as silver creates its tables) and into one without, alternately in
one Spark session.

The rows are shaped like `silver.material` (keys, a digest, a timestamp version, a dozen text
fields), not simulated: what is measured is the MERGE, whose cost without deletion vectors is
copying every row that shares a file with an updated one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench.report import RESULTS_DIR
from hub.settings import Settings
from jobs import silver
from jobs.spark import get_spark

KEYS = ["material_id"]
VERSION = "submitted_at"


def material_like(spark: SparkSession, first: int, last: int) -> DataFrame:
    n = F.col("id")
    return spark.range(first, last).select(
        F.format_string("M%09d", n).alias("material_id"),
        F.format_string("C%09d", (n / 5).cast("long")).alias("case_id"),
        F.format_string("S%09d", F.abs(F.hash(n)) % 500_000).alias("subject_id"),
        F.sha2(n.cast("string"), 256).alias("sha256"),
        (F.lit("2026-01-05 09:00:00").cast("timestamp") + F.make_interval(secs=n % 86_400)).alias(VERSION),
        *[F.format_string(f"value {i} %d", n).alias(f"field_{i}") for i in range(12)],
    )


def one_merge(spark: SparkSession, root: Path, rows: int, *, deletion_vectors: bool) -> dict[str, float]:
    uri = str(root / f"material-{deletion_vectors}-{time.time_ns()}")
    table = material_like(spark, 0, rows)
    if deletion_vectors:
        silver.upsert(spark, table, uri, KEYS, VERSION)  # creates the table as silver does
    else:
        table.write.format("delta").option("delta.enableChangeDataFeed", "true").save(uri)
    updated = table.where(F.abs(F.hash("material_id")) % 100 == 0).withColumn(
        VERSION, F.col(VERSION) + F.expr("INTERVAL 1 DAY")
    )
    day = updated.unionByName(material_like(spark, rows, rows + rows // 100)).localCheckpoint()
    started = time.perf_counter()
    silver.upsert(spark, day, uri, KEYS, VERSION)
    seconds = time.perf_counter() - started
    (last,) = spark.sql(f"DESCRIBE HISTORY delta.`{uri}` LIMIT 1").collect()
    metrics = last["operationMetrics"]
    shutil.rmtree(uri, ignore_errors=True)
    return {
        "seconds": round(seconds, 3),
        "rows_updated": int(metrics["numTargetRowsUpdated"]),
        "rows_inserted": int(metrics["numTargetRowsInserted"]),
        "rows_copied": int(metrics["numTargetRowsCopied"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_400_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    spark = get_spark(Settings())
    runs: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory(prefix="silver-merge-") as tmp:
        for _ in range(args.repeats):
            for label, done in runs.items():
                run = one_merge(spark, Path(tmp), args.rows, deletion_vectors=label == "with")
                done.append(run)
                print(f"deletion vectors {label}: {run}", flush=True)
    result = {
        "benchmark": "silver_merge_deletion_vectors",
        "rows": args.rows,
        "runs": runs,
        "median_seconds": {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()},
    }
    (RESULTS_DIR / f"silver-merge-{args.rows}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median_seconds"]), flush=True)


if __name__ == "__main__":
    main()
