"""Benchmark: what row-rule validation adds to a Spark read-and-write of the same case rows.

Both runs read the same Parquet input and write Delta; one writes the rows unchanged (the floor),
the other tags every row with the rules it breaks first (the contract's single pass). They run
alternately in one Spark session and the medians are compared, since this machine is noisy.
Target (issue: contracts): overhead at most 30% of the floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench.report import RESULTS_DIR, update_readme
from hub.settings import Settings
from hub.simulator.catalogue import CATALOGUE
from hub.simulator.world import credit_code, resident_id
from hub.working_days import load_calendar
from jobs.spark import get_spark
from quality.contracts import load_code_lists, load_contract
from quality.row_rules import (
    UNPARSED,
    compile_row_rules,
    tag_violations,
)

ITEM = next(item for item in CATALOGUE if item.code == "SYJ-0201-01")


def case_rows(spark: SparkSession, rows: int) -> DataFrame:
    """Realistic conformed case rows: valid ids (every check runs to the end), promised deadlines
    counted in working days as departments do, 1% bad channel codes."""
    rng = random.Random(1)
    today = dt.date(2026, 11, 25)
    ids = [resident_id(rng, today) if i % 2 else credit_code(rng) for i in range(1000)]
    id_array = F.array(*[F.lit(i) for i in ids])
    calendar = load_calendar()
    deadlines = {}
    for offset in range(300):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=offset)
        start = day if calendar.is_working_day(day) else calendar.add_working_days(day, 1)
        deadlines[day] = calendar.add_working_days(start, ITEM.promised_days)
    deadline_of = F.create_map(*[F.lit(x) for kv in deadlines.items() for x in kv])
    n = F.col("id")
    received = F.timestamp_seconds(F.lit(1_767_225_600) + (n * 7919) % 25_000_000)
    return spark.range(rows).select(
        F.concat(F.lit("SC"), n.cast("string")).alias("case_id"),
        F.when(n % 2 == 0, "market_regulation").otherwise("food_drug").alias("department"),
        id_array[(n % 1000).cast("int")].alias("subject_id"),
        F.when(n % 2 == 1, "person").otherwise("entity").alias("subject_type"),
        F.lit("广州市粤香餐饮有限公司").alias("subject_name"),
        F.lit(ITEM.code).alias("item_code"),
        F.lit(ITEM.name).alias("item_name"),
        F.when(n % 100 == 0, "fax").otherwise("window").alias("channel"),
        F.lit("completed").alias("status"),
        received.alias("received_at"),
        (received + F.expr("INTERVAL 2 DAYS")).alias("decided_at"),
        deadline_of[F.to_date(received)].alias("promised_deadline"),
        F.lit("street").alias("handling_tier"),
        (received + F.expr("INTERVAL 2 DAYS")).alias("updated_at"),
        F.array().cast("array<string>").alias(UNPARSED),
    )


def timed(action: str, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"  {action}: {elapsed:.2f} s", flush=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    spark = get_spark(Settings(home=work))
    contract = load_contract("case")
    reference_data = {
        "approval_item": spark.createDataFrame(
            [(item.code, item.promised_days) for item in CATALOGUE], "item_code string, promised_days int"
        ),
    }
    rules = compile_row_rules(contract, load_code_lists(), reference_data)
    source = str(work / "input.parquet")
    case_rows(spark, args.rows).write.mode("overwrite").parquet(source)

    def write_unchanged() -> None:
        spark.read.parquet(source).write.format("delta").mode("overwrite").save(str(work / "floor"))

    def write_validated() -> None:
        tagged = tag_violations(spark.read.parquet(source), rules)
        tagged.write.format("delta").mode("overwrite").save(str(work / "validated"))

    write_unchanged()  # warm-up: JIT, Delta's first commit
    write_validated()
    floors, validated = [], []
    for i in range(args.repeats):
        print(f"round {i + 1}/{args.repeats} ({args.rows:,} rows)", flush=True)
        floors.append(timed("read + write unchanged", write_unchanged))
        validated.append(timed("read + validate + write", write_validated))
    quarantined = (
        spark.read.format("delta").load(str(work / "validated")).where(F.size("_violations") > 0).count()
    )
    floor, with_rules = statistics.median(floors), statistics.median(validated)
    result = {
        "benchmark": "row_rule_validation",
        "rows": args.rows,
        "rules": len(rules),
        "floor_seconds_median": round(floor, 3),
        "validated_seconds_median": round(with_rules, 3),
        "overhead_ratio": round((with_rules - floor) / floor, 3),
        "target_overhead_ratio": 0.30,
        "rows_flagged": quarantined,
        "floor_runs": [round(x, 3) for x in floors],
        "validated_runs": [round(x, 3) for x in validated],
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"validation-{args.rows}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    update_readme()
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
