"""Benchmark: a full lakehouse build against Spark reading the same raw inputs into Delta, and a
1% increment against the full build.

The district's five departments are simulated (10,000 cases a working day by default, for as
many working days as N cases take) and every department-day is landed through the pipeline's
own ingestion; that is cached by N, since generating is not what is measured. Then, in one Spark
session and side by side:

- floor: each department's landed files read in their own format (GBK CSV with its header, JSON
  Lines, JSON documents) and written unchanged to Delta;
- full build: a rebuild from the same landing zone, stage by stage: each department's batches
  loaded into bronze in one write (as `hub lake reload-bronze` does), the item catalogue published,
  every pending batch conformed, silver gated with the GX suites, gold's subject tables rebuilt and
  the marts built;
- increment: one more simulated working day with about 1% of N new cases, loaded batch by batch
  as the ingestion DAGs do, conformed, gated, and built into gold the same district day, so gold
  reads silver's Change Data Feed.

Targets (issue: lakehouse): the full build within 3x the floor; the increment at most 10% of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from bench.report import RESULTS_DIR, update_readme
from hub.demo import department_service
from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.simulator import simulate
from hub.storage import landing_store, table_uri
from hub.working_days import load_calendar
from jobs import pipeline
from jobs.departments import DepartmentMapping, department_names, load_mappings
from jobs.landing import LandedBatch, SourceUnavailableError, landed_batches
from jobs.spark import get_spark

FIRST_DAY = dt.date(2026, 1, 5)
SEED = 7
INPUTS = "inputs.json"
# What the builds are run as: stage names in the order the DAGs run them.
FULL_STAGES = ("bronze", "catalogue", "silver", "gate", "gold", "marts")
TARGET_RATIO, TARGET_INCREMENT = 3.0, 0.10
Stages = list[tuple[str, Callable[[], Any]]]


def plan_days(cases: int, cases_per_day: int) -> tuple[list[dt.date], dt.date]:
    """The simulated days of the full build, then the working day of the increment.

    The full build spans enough working days for `cases` (weekends add a few always-open-channel
    cases more) and ends on the eve of the increment's working day, so the increment is one day.
    """
    calendar = load_calendar()
    needed = math.ceil(cases / cases_per_day)
    day, working = FIRST_DAY, 0
    while True:
        working += calendar.is_working_day(day)
        if working == needed:
            break
        day += dt.timedelta(days=1)
    increment = calendar.add_working_days(day, 1)
    return [FIRST_DAY + dt.timedelta(days=i) for i in range((increment - FIRST_DAY).days)], increment


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def generate_inputs(home: Path, cases: int, cases_per_day: int) -> dict[str, Any]:
    """Simulate and land the full build's days and the increment's day under `home`, once.

    The increment is a second simulator run for one day at a rate of 1% of `cases`; the
    catalogue it writes is put back as the first run wrote it, since a changed catalogue makes
    gold rebuild whole.
    """
    stamp = home / INPUTS
    if stamp.exists():
        inputs: dict[str, Any] = json.loads(stamp.read_text())
        print(f"inputs cached in {home}", flush=True)
        return inputs
    shutil.rmtree(home, ignore_errors=True)
    days, increment_day = plan_days(cases, cases_per_day)
    url = f"http://127.0.0.1:{_free_port()}/api/v1/cases"
    settings = Settings(home=home, source_urls={"housing_construction": url})
    started = time.perf_counter()
    sent = simulate(settings, days[0], days=len(days), seed=SEED, cases_per_day=cases_per_day)
    catalogue = {t: settings.catalogue_file(t).read_bytes() for t in pipeline.CATALOGUE_TABLES}
    increment_rate = max(1, round(cases / 100))
    sent += simulate(settings, increment_day, days=1, seed=SEED + 1, cases_per_day=increment_rate)
    for table, published in catalogue.items():
        settings.catalogue_file(table).write_bytes(published)
    records, seconds = sum(s.records for s in sent), time.perf_counter() - started
    print(
        f"simulated {len(days)} days at {cases_per_day:,} cases a working day, then {increment_day} at "
        f"{increment_rate:,}: {records:,} records in {seconds:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    batches: dict[str, list[list[str]]] = {"full": [], "increment": []}
    with department_service(settings):
        for day in [*days, increment_day]:
            for department in department_names():
                try:
                    landed = pipeline.ingest(settings, department, day)
                except SourceUnavailableError as error:
                    # The department's next day pulls the gap too, as after a failed run.
                    print(f"  {department} {day}: nothing landed ({error})", flush=True)
                    continue
                part = "increment" if day == increment_day else "full"
                batches[part].append([department, landed["batch_id"]])
    print(f"landed {sum(map(len, batches.values()))} batches in {time.perf_counter() - started:.0f} s")
    inputs = {
        "cases": cases,
        "cases_per_day": cases_per_day,
        "increment_cases_per_day": increment_rate,
        "days": [days[0].isoformat(), days[-1].isoformat()],
        "increment_day": increment_day.isoformat(),
        "records_sent": sum(s.records for s in sent if s.day != increment_day.isoformat()),
        "increment_records_sent": sum(s.records for s in sent if s.day == increment_day.isoformat()),
        "batches": batches,
    }
    stamp.write_text(json.dumps(inputs, indent=2) + "\n")
    return inputs


def batches_of(home: Path, listed: list[list[str]]) -> list[LandedBatch]:
    """The landed batches named, in the order they were landed (day by day, department by department)."""
    store = landing_store(Settings(home=home))
    by_id = {b.batch_id: b for d in {d for d, _ in listed} for b in landed_batches(store, d)}
    return [by_id[batch_id] for _, batch_id in listed]


def read_as_sent(spark: SparkSession, uris: list[str], mapping: DepartmentMapping) -> DataFrame:
    """A department's files read by Spark in their own format, nothing else done to them."""
    if mapping.format == "csv":
        return (
            spark.read.option("header", True)
            .option("escape", '"')
            .option("encoding", mapping.encoding)
            .csv(uris)
        )
    if mapping.format == "jsonl":
        return spark.read.json(uris)
    return spark.read.option("multiLine", True).json(uris)


def run_floor(spark: SparkSession, home: Path, batches: list[LandedBatch], out: Path) -> dict[str, float]:
    """Seconds per department to read its landed files and write them to Delta."""
    store = landing_store(Settings(home=home))
    mappings = load_mappings()
    seconds = {}
    for department in sorted({b.department for b in batches}):
        started = time.perf_counter()
        uris = [store.uri(f.key) for b in batches if b.department == department for f in b.files]
        read_as_sent(spark, uris, mappings[department]).write.format("delta").mode("overwrite").save(
            str(out / department)
        )
        seconds[department] = round(time.perf_counter() - started, 3)
    return seconds


def warm_up(spark: SparkSession, out: Path) -> None:
    """The session's first Delta write and read load classes and JIT-compile; neither side pays it."""
    spark.range(1000).write.format("delta").mode("overwrite").save(str(out))
    spark.read.format("delta").load(str(out)).count()
    shutil.rmtree(out, ignore_errors=True)


def run_home(cache: Path, label: str) -> Settings:
    """A fresh lakehouse over the cached landing zone: a new path per run, so no Delta log
    cached by the session from an earlier run can be mistaken for this one's."""
    home = cache / "runs" / f"{label}-{time.time_ns()}"
    home.mkdir(parents=True)
    for shared in ("sources", "landing", "buckets"):
        (home / shared).symlink_to(cache / shared)
    return Settings(home=home)


def timed_stages(
    spark: SparkSession, label: str, stages: Stages
) -> tuple[dict[str, float], dict[str, Any], dict[str, int], dict[str, Any] | None]:
    """Seconds, result and Spark jobs of each stage: many short jobs point at fixed costs per job
    (planning, Delta commits), few long ones at the data. A stage that fails ends the run; the
    stages before it, and how long it ran before failing, are still reported."""
    seconds: dict[str, float] = {}
    results: dict[str, Any] = {}
    jobs: dict[str, int] = {}
    tracker = spark.sparkContext.statusTracker()
    for name, run in stages:
        group = f"{label}-{name}-{time.time_ns()}"
        spark.sparkContext.setJobGroup(group, f"{label} {name}")
        started = time.perf_counter()
        try:
            results[name] = run()
        except Exception as error:  # an out-of-memory JVM surfaces as a Py4J error
            lines = str(error).splitlines()
            reason = next((line for line in lines if "Error:" in line), lines[0] if lines else repr(error))
            failed = {
                "part": label,
                "stage": name,
                "seconds": round(time.perf_counter() - started, 3),
                "error": reason.strip()[:300],
            }
            print(f"    {name}: failed after {failed['seconds']:.1f} s: {failed['error']}", flush=True)
            return seconds, results, jobs, failed
        seconds[name] = round(time.perf_counter() - started, 3)
        jobs[name] = len(tracker.getJobIdsForGroup(group))
        print(f"    {name}: {seconds[name]:.1f} s, {jobs[name]} Spark jobs", flush=True)
    return seconds, results, jobs, None


def build_stages(
    settings: Settings, batches: list[LandedBatch], as_of: dt.datetime, *, rebuild: bool
) -> Stages:
    """Bronze loads (a rebuild's: one write per department; else the ingestion DAGs': one per
    batch), then build_lakehouse's tasks up to the marts."""

    def load() -> int:
        if not rebuild:
            return sum(pipeline.load_bronze(settings, asdict(b))["rows"] for b in batches)
        departments = sorted({b.department for b in batches})
        return sum(
            loaded["rows"]
            for d in departments
            for loaded in pipeline.load_bronze_batches(
                settings, [asdict(b) for b in batches if b.department == d]
            )
        )

    def conform() -> int:
        pending: dict[str, list[str]] = {}
        for department, batch_id in pipeline.pending_batches(settings):
            pending.setdefault(department, []).append(batch_id)
        return len(pipeline.conform_silver(settings, pending))

    return [
        ("bronze", load),
        ("catalogue", lambda: pipeline.publish_catalogue(settings)),
        ("silver", conform),
        ("gate", lambda: pipeline.validate_silver(settings)),
        ("gold", lambda: pipeline.build_gold(settings, as_of, rebuild=rebuild)),
        ("marts", lambda: pipeline.build_marts(settings, as_of)),
    ]


def count(spark: SparkSession, settings: Settings, layer: str, name: str) -> int:
    return spark.read.format("delta").load(table_uri(settings, layer, name)).count()


def run_round(
    spark: SparkSession,
    cache: Path,
    full_batches: list[LandedBatch],
    increment_batches: list[LandedBatch],
    morning: dt.datetime,
    *,
    keep: bool,
) -> dict[str, Any]:
    """The floor, then a full build in a fresh lakehouse, then the increment on top of it."""
    floor_out = cache / "runs" / f"floor-{time.time_ns()}"
    floor = run_floor(spark, cache, full_batches, floor_out)
    print(f"  floor, read + write Delta unchanged: {sum(floor.values()):.1f} s {floor}", flush=True)
    shutil.rmtree(floor_out, ignore_errors=True)

    settings = run_home(cache, "build")
    print("  full build:", flush=True)
    full, full_results, full_jobs, failed = timed_stages(
        spark, "full", build_stages(settings, full_batches, morning, rebuild=True)
    )
    done: dict[str, Any] = {"floor": floor, "full": full, "jobs": {"full": full_jobs}, "failed": failed}
    if failed:
        return done | {"facts": {}}
    facts = {
        "records_in_bronze": full_results["bronze"],
        "cases_in_silver": count(spark, settings, "silver", "case"),
        "events_in_silver": count(spark, settings, "silver", "case_event"),
        "subjects_in_gold": full_results["gold"]["subjects"],
    }
    print(f"  {facts}", flush=True)
    print("  increment:", flush=True)
    later = morning + dt.timedelta(minutes=30)
    step, step_results, step_jobs, failed = timed_stages(
        spark, "increment", build_stages(settings, increment_batches, later, rebuild=False)
    )
    done |= {"increment": step, "failed": failed, "facts": facts}
    done["jobs"]["increment"] = step_jobs
    if failed:
        return done
    facts |= {
        "increment_records_in_bronze": step_results["bronze"],
        "increment_cases": count(spark, settings, "silver", "case") - facts["cases_in_silver"],
        "increment_gold_mode": step_results["gold"]["mode"],
        "increment_subjects_rebuilt": step_results["gold"]["subjects_rebuilt"],
    }
    if keep:
        print(f"  lakehouse kept in {settings.home}", flush=True)
    else:
        shutil.rmtree(settings.home, ignore_errors=True)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--cases-per-day", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=1, help="alternate floor and build this many times")
    parser.add_argument("--keep", action="store_true", help="keep the last run's lakehouse for inspection")
    args = parser.parse_args()

    cache = Settings().home / "bench-lakehouse" / f"cases-{args.cases}-{args.cases_per_day}-seed-{SEED}"
    inputs = generate_inputs(cache, args.cases, args.cases_per_day)
    full_batches = batches_of(cache, inputs["batches"]["full"])
    increment_batches = batches_of(cache, inputs["batches"]["increment"])
    increment_day = dt.date.fromisoformat(inputs["increment_day"])
    # Both builds judge gold on the morning after the increment's day: one district day, so the
    # second build is incremental.
    morning = dt.datetime.combine(increment_day + dt.timedelta(days=1), dt.time(7), DISTRICT_TIMEZONE)

    spark = get_spark(Settings(home=cache))
    spark_conf = {k: spark.conf.get(f"spark.{k}") for k in ("master", "driver.memory")}
    warm_up(spark, cache / "runs" / "warm-up")
    rounds = []
    for i in range(args.repeats):
        print(f"round {i + 1}/{args.repeats} ({args.cases:,} cases, {len(full_batches)} batches)", flush=True)
        keep = args.keep and i + 1 == args.repeats
        rounds.append(run_round(spark, cache, full_batches, increment_batches, morning, keep=keep))
        if rounds[-1]["failed"]:
            break
    result = {
        "benchmark": "lakehouse_build",
        "cases": args.cases,
        "cases_per_working_day": args.cases_per_day,
        "days": inputs["days"],
        "batches": len(full_batches),
        "records_sent": inputs["records_sent"],
        "increment_day": inputs["increment_day"],
        "increment_batches": len(increment_batches),
        "spark": spark_conf,
        "repeats": len(rounds),
        **rounds[-1]["facts"],
        **summary(rounds),
        "floor_runs": [r["floor"] for r in rounds],
        "full_build_runs": [r["full"] for r in rounds],
        "increment_runs": [r["increment"] for r in rounds if "increment" in r],
        "spark_jobs_per_stage": [r["jobs"] for r in rounds],
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"lakehouse-{args.cases}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    update_readme()
    if not rounds[-1]["failed"]:
        spark.stop()  # after a JVM that ran out of memory there is nothing left to stop
    if rounds[-1]["failed"]:
        raise SystemExit(f"the build failed: {rounds[-1]['failed']}")


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the rounds, or, when the last round failed, that round's figures so far: the
    build took at least the stages it finished plus the time the failing stage ran."""
    floor = statistics.median(sum(r["floor"].values()) for r in rounds)
    figures: dict[str, Any] = {
        "floor_seconds_median": round(floor, 3),
        "target_full_build_ratio": TARGET_RATIO,
        "target_increment_ratio": TARGET_INCREMENT,
    }
    failed = rounds[-1]["failed"]
    if failed:
        last = rounds[-1]
        at_least = sum(last["full"].values()) + (failed["seconds"] if failed["part"] == "full" else 0)
        return figures | {
            "complete": False,
            "failed": failed,
            "full_build_seconds_at_least": round(at_least, 3),
            "full_build_ratio_at_least": round(at_least / floor, 2),
            "full_build_stages": last["full"],
        }

    def medians(part: str) -> dict[str, float]:
        return {s: round(statistics.median(r[part][s] for r in rounds), 3) for s in FULL_STAGES}

    full = statistics.median(sum(r["full"].values()) for r in rounds)
    increment = statistics.median(sum(r["increment"].values()) for r in rounds)
    return figures | {
        "complete": True,
        "full_build_seconds_median": round(full, 3),
        "full_build_ratio": round(full / floor, 2),
        "full_build_stages_median": medians("full"),
        "increment_seconds_median": round(increment, 3),
        "increment_ratio": round(increment / full, 3),
        "increment_stages_median": medians("increment"),
    }


if __name__ == "__main__":
    main()
