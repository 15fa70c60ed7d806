"""Benchmark: the simulator's peak memory does not grow with the number of cases it produces.

Runs `hub simulate` in a child process twice, with the same cases per day over few and over many
days, and compares the peak resident memory of the two, measured side by side in one run. The
simulator holds one day and the open cases at a time, so the ratio should stay near 1 however
many days (and cases) the run covers. Target (issue: ingestion): under 1 GB resident at 10M cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import RESULTS_DIR, update_readme

FIRST_DAY = dt.date(2026, 1, 5)


def simulate_and_measure(days: int, cases_per_day: int) -> None:
    """In the child: run the simulator and print what it wrote and this process's peak RSS."""
    from hub.settings import Settings
    from hub.simulator import simulate

    sent = simulate(Settings(), FIRST_DAY, days=days, cases_per_day=cases_per_day)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": sum(s.records for s in sent), "peak_kb": peak_kb}))


def run_simulation(days: int, cases_per_day: int) -> dict[str, float]:
    """Seconds, peak RSS in MB and records written by one simulator run in its own process."""
    home = Path(tempfile.mkdtemp(prefix="hub-bench-sim-"))
    try:
        started = time.perf_counter()
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.simulator",
                "--child-days",
                str(days),
                "--cases-per-day",
                str(cases_per_day),
            ],
            env=os.environ | {"HUB_HOME": str(home)},
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        return {
            "days": days,
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(measured["peak_kb"] / 1024, 1),
            "records": measured["records"],
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases-per-day", type=int, default=10_000)
    parser.add_argument("--small-days", type=int, default=3)
    parser.add_argument("--large-days", type=int, default=30)
    parser.add_argument("--child-days", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_days:
        simulate_and_measure(args.child_days, args.cases_per_day)
        return
    small = run_simulation(args.small_days, args.cases_per_day)
    print(f"  {args.small_days} days: {small}", flush=True)
    large = run_simulation(args.large_days, args.cases_per_day)
    print(f"  {args.large_days} days: {large}", flush=True)
    result = {
        "benchmark": "simulator_memory",
        "cases_per_day": args.cases_per_day,
        "small": small,
        "large": large,
        "memory_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
        "target_peak_rss_mb_at_10m": 1024,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "simulator-memory.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    update_readme()


if __name__ == "__main__":
    main()
