"""Benchmark: `GET /v1/subjects/{id}` over real HTTP against a minimal endpoint that returns the
same JSON from memory, in the same run, on a gold table of N subjects.

The gold table is generated directly (`bench/serving_data.py`) under
`$HUB_HOME/bench-serving/subjects-N-…/`, once per version of the generator and the simulator.
The API runs as deployed (`bench/serving_app.py` adds the floor's route), uvicorn with one worker
process a core (`--workers 2`), sharing the cores with wrk (Debian's package), which drives it
with 2 threads and 32 connections, rotating through the subjects' ids with a department's bearer
token. With `--workers 1` the API is pinned to one core and wrk to the other. Each round runs
the real endpoint (token check, access policy, masking, the audit record synced before the
response) and then the floor, for the same time. Reported: p50/p99 latency and requests a second
of both, their ratio, the API's CPU time a request and its processes' resident memory.

Targets (issue: serving, at 1M subjects): p99 at most 20 ms, at least 1,000 requests a second,
and at least 50% of the floor's throughput.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from api.tokens import issue_token
from bench import serving_data
from bench.report import RESULTS_DIR, update_readme
from bench.serving_app import ECHO_FILE_ENV
from hub import simulator as simulator_package
from hub.credentials import credential_registry
from hub.serving import free_port, start_api_process
from hub.settings import Settings
from hub.storage import delta_rs_location

SEED = 11
SIGNING_KEY = "the-serving-benchmark-signing-key-0123456789"
DEPARTMENT, PURPOSE = "market_regulation", "approval_handling"
# Ids wrk rotates through: enough that no cache of a few thousand profiles could serve them all.
ROTATED_IDS = 200_000
SERVER_CPU, LOAD_CPU = "1", "0"
TARGET_P99_MS, TARGET_RPS, TARGET_RATIO = 20.0, 1000.0, 0.5
LUA = Path(__file__).with_name("serving.lua")


def data_signature() -> str:
    """A digest of the code the gold table is generated from, so a stale cache is not measured."""
    sources = sorted([Path(serving_data.__file__), *Path(simulator_package.__file__).parent.rglob("*.py")])
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def ensure_gold(home: Path, subjects: int) -> dict[str, Any]:
    """The generated gold table under `home` and the ids file wrk reads, made once."""
    stamp = home / "gold.json"
    if stamp.exists():
        facts: dict[str, Any] = json.loads(stamp.read_text())
        print(f"gold cached in {home}", flush=True)
        return facts
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    location, options = delta_rs_location(Settings(home=home), "gold", "subject_profile")
    print(f"generating gold for {subjects:,} subjects in {home}", flush=True)
    started = time.perf_counter()
    batches = serving_data.profile_batches(subjects, SEED)
    first = next(batches)
    reader = pa.RecordBatchReader.from_batches(first.schema, _chain(first, batches))
    write_deltalake(location, reader, storage_options=options)
    table = DeltaTable(location, storage_options=options)
    ids = table.to_pyarrow_table(columns=["subject_id"]).column("subject_id").to_pylist()
    step = max(1, len(ids) // ROTATED_IDS)
    (home / "subject_ids.txt").write_text("\n".join(ids[::step]) + "\n")
    files = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    facts = {
        "subjects": len(ids),
        "table_bytes": sum(files["size_bytes"]),
        "table_files": len(files["path"]),
        "generated_seconds": round(time.perf_counter() - started, 1),
    }
    stamp.write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def _chain(first: Any, rest: Any) -> Any:
    yield first
    yield from rest


def start_api(home: Path, port: int, log: Path, workers: int) -> subprocess.Popen[bytes]:
    api = start_api_process(
        "bench.serving_app:create_bench_app",
        port,
        log,
        # The floor's bytes are shared through a file: each worker process answers it.
        {"HUB_HOME": str(home), "HUB_TOKEN_SIGNING_KEY": SIGNING_KEY, ECHO_FILE_ENV: str(home / "echo.json")},
        prefix=("taskset", "-c", SERVER_CPU) if workers == 1 else (),
        args=("--workers", str(workers)),
        timeout=600,
    )
    wait_for_workers(f"http://127.0.0.1:{port}", workers, timeout=600)
    return api


def wait_for_workers(url: str, workers: int, timeout: float) -> None:
    """Returns once each of the API's worker processes has answered: one still loading its snapshot
    accepts no connection, and wrk's connections, opened once, would all go to the others."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(seen)} of {workers} API processes answered within {timeout:.0f} s")
        # A new connection each time, so any process may take it; a request id's first half
        # is its process's own (hub.audit.new_id).
        seen.add(httpx.get(f"{url}/health", timeout=30).headers["X-Request-ID"][:16])
        time.sleep(0.05)


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's worker processes), from /proc (Linux)."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [pid, *(p for child in children for p in process_tree(child))]


def cpu_seconds(pid: int) -> float:
    """CPU time the API's processes have used, user and system (/proc, Linux)."""
    total = 0.0
    for process in process_tree(pid):
        # The fields after the command name, which is in parentheses and may hold spaces.
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def memory_mb(pid: int) -> dict[str, float]:
    """The API's resident memory now and the sum of its processes' peaks (/proc, Linux)."""
    totals = {"VmRSS": 0.0, "VmHWM": 0.0}
    for process in process_tree(pid):
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in totals:
                totals[key] += int(value.split()[0]) / 1024
    return {"rss_mb": round(totals["VmRSS"], 1), "peak_rss_mb": round(totals["VmHWM"], 1)}


@dataclass(frozen=True)
class Load:
    """What wrk sends: to which server, as whom, which ids, with how many connections."""

    url: str
    pid: int  # the API's
    token: str
    ids: Path
    connections: int
    threads: int
    pin_cpu: str | None  # wrk's core, when the API has the other to itself


def run_wrk(load: Load, prefix: str, seconds: int) -> dict[str, Any]:
    command = [
        *(("taskset", "-c", load.pin_cpu) if load.pin_cpu else ()),
        "wrk",
        *(f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds}s", "--timeout", "10s"),
        *("-s", str(LUA), load.url, "--", prefix, f"?purpose={PURPOSE}", load.token, str(load.ids)),
    ]
    cpu_before = cpu_seconds(load.pid)
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    cpu = cpu_seconds(load.pid) - cpu_before
    raw = json.loads(out.strip().splitlines()[-1])
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "requests_per_second": round(raw["requests"] / seconds_run, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        # What the API spent per request, whatever else ran on the machine.
        "cpu_ms_per_request": round(cpu * 1000 / max(raw["requests"], 1), 3),
        "non_2xx": raw["non_2xx"],
        "socket_errors": raw["socket_errors"],
    }


def journaled_records(home: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in (home / "audit" / "journal").glob("*.jsonl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=20, help="each endpoint's run in a round")
    parser.add_argument("--rounds", type=int, default=2, help="alternate the endpoint and the floor")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="API processes; 1 pins it to a core")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    home = Settings().home / "bench-serving" / f"subjects-{args.subjects}-seed-{SEED}-data-{data_signature()}"
    gold = ensure_gold(home, args.subjects)
    settings = Settings(home=home)
    # Each run's journal from empty: its records are counted against the requests sent.
    shutil.rmtree(settings.audit_journal, ignore_errors=True)
    credential = credential_registry(settings).create(DEPARTMENT, note="serving benchmark").credential
    token = issue_token(credential, SIGNING_KEY, dt.timedelta(hours=1), dt.datetime.now(dt.UTC)).access_token
    ids = home / "subject_ids.txt"
    first_id = ids.read_text().split("\n", 1)[0]

    port = free_port()
    started = time.perf_counter()
    api = start_api(home, port, home / "api.log", args.workers)
    # The app loads its snapshots before it answers: this is the start with the load.
    ready_seconds = round(time.perf_counter() - started, 1)
    pin_cpu = LOAD_CPU if args.workers == 1 else None
    load = Load(f"http://127.0.0.1:{port}", api.pid, token, ids, args.connections, args.threads, pin_cpu)
    try:
        measured = measure(api.pid, load, first_id, args.seconds, args.rounds)
        location, options = delta_rs_location(settings, "gold", "subject_profile")
        measured["new_version"] = new_version_under_load(load, location, options, args.seconds, args.workers)
        print(f"new version: {json.dumps(measured['new_version'])}", flush=True)
    finally:
        api.send_signal(signal.SIGTERM)
        try:
            api.wait(timeout=30)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait()
    load_facts = {"tool": "wrk", "connections": args.connections, "threads": args.threads}
    result = summary(measured["rounds"]) | {
        "benchmark": "subject_serving",
        "subjects": gold["subjects"],
        "gold": gold,
        "load": load_facts | {"seconds": args.seconds, "rounds": args.rounds},
        "api_workers": args.workers,
        "pinned": {"api_cpu": SERVER_CPU, "wrk_cpu": LOAD_CPU} if args.workers == 1 else None,
        "api_ready_seconds": ready_seconds,
        **measured,
        "audit_records_journaled": journaled_records(home),
        "targets": {
            "p99_ms": TARGET_P99_MS,
            "requests_per_second": TARGET_RPS,
            "ratio_to_floor": TARGET_RATIO,
        },
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"serving-{args.subjects}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    update_readme()


def measure(pid: int, load: Load, first_id: str, seconds: int, rounds: int) -> dict[str, Any]:
    """One profile (the floor is given its bytes), then rounds of the endpoint and the floor."""
    ready_mb = memory_mb(pid)
    response = httpx.get(
        f"{load.url}/v1/subjects/{first_id}",
        params={"purpose": PURPOSE},
        headers={"Authorization": f"Bearer {load.token}"},
        timeout=60,
    )
    response.raise_for_status()
    # The floor answers exactly the bytes the endpoint answered.
    httpx.put(f"{load.url}/bench/echo", content=response.content).raise_for_status()
    print(f"API ready, snapshot loaded: {ready_mb}", flush=True)

    def both(seconds: int) -> dict[str, dict[str, Any]]:
        return {
            "endpoint": run_wrk(load, "/v1/subjects/", seconds),
            "floor": run_wrk(load, "/bench/echo/", seconds),
        }

    both(3)  # warm-up: connections, code paths, the page cache of the journal's disk
    measured = []
    for i in range(rounds):
        measured.append(both(seconds))
        print(f"round {i + 1}: {json.dumps(measured[-1])}", flush=True)
    return {
        "response_bytes": len(response.content),
        "api_memory_mb": {"ready": ready_mb, "after_load": memory_mb(pid)},
        "rounds": measured,
    }


def new_version_under_load(
    load: Load, location: str, options: dict[str, str], seconds: int, workers: int
) -> dict[str, Any]:
    """A new gold version committed while wrk runs: how long until the API serves it, what the
    clients got meanwhile, and the API's peak memory (it holds both versions while it loads).

    The commit changes only the table's properties, so the rows (and the cache) stay as they are,
    but the version moves and the API loads the whole table again, as after a gold build.
    """

    def served_version() -> int:
        # A new connection each time: any worker process may answer.
        version: int = httpx.get(f"{load.url}/health", timeout=30).json()["gold_version"]
        return version

    before = served_version()
    timing: dict[str, float] = {}

    def commit() -> None:
        time.sleep(seconds / 4)
        DeltaTable(location, storage_options=options).alter.set_table_properties(
            {"hub.bench.new_version_at": dt.datetime.now(dt.UTC).isoformat()}, raise_if_not_exists=False
        )
        committed = time.perf_counter()
        # Served by every worker process: this many answers in a row with the new version.
        in_a_row, needed = 0, 8 * workers
        while in_a_row < needed and time.perf_counter() - committed < 10 * seconds:
            in_a_row = in_a_row + 1 if served_version() != before else 0
            time.sleep(0.05 if in_a_row else 0.2)
        timing["served_after_seconds"] = round(time.perf_counter() - committed, 1)

    committer = threading.Thread(target=commit)
    committer.start()
    during = run_wrk(load, "/v1/subjects/", seconds)
    committer.join()
    return {
        "versions": [before, served_version()],
        **timing,
        "during": during,
        "api_memory_mb": memory_mb(load.pid),
    }


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds; the ratio is of the median throughputs."""

    def median(part: str, key: str) -> float:
        return round(float(statistics.median(r[part][key] for r in rounds)), 2)

    keys = ("requests_per_second", "p50_ms", "p99_ms", "cpu_ms_per_request")
    endpoint = {k: median("endpoint", k) for k in keys}
    floor = {k: median("floor", k) for k in keys}
    return {
        "endpoint": endpoint,
        "floor": floor,
        "ratio_to_floor": round(endpoint["requests_per_second"] / floor["requests_per_second"], 3),
        "non_2xx": sum(r[p]["non_2xx"] for r in rounds for p in ("endpoint", "floor")),
    }


if __name__ == "__main__":
    main()
