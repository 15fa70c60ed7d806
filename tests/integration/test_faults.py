"""Faults of real operation, each followed by a check that nothing was lost and nothing doubled:
a build killed with SIGKILL (its JVM too) in the middle of its bronze writes, run again and killed
in the middle of its silver writes, then run to the end; and a department delivering the same
export twice. Airflow tasks that fail right after a commit and are retried are part of the
end-to-end scenario (tests/integration/test_end_to_end.py), which checks every count afterwards.

One small simulated day, landed and built once cleanly in a home of its own, is the reference a
killed-and-resumed build must equal.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hub.settings import DISTRICT_TIMEZONE, Settings, get_settings
from hub.simulator import DirtyRates, simulate
from hub.storage import read_table_rows
from jobs import pipeline
from quality.contracts import load_contract

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 11, 10)
SEED = 11
CASES_PER_DAY = 30
# Two departments whose interfaces need no server of their own: JSON Lines files, JSON documents
# in a bucket.
DEPARTMENTS = ("food_drug", "health")
# Gold's validity and time limits are judged at this moment in every build, so builds compare.
AS_OF = dt.datetime(2026, 11, 11, 9, tzinfo=DISTRICT_TIMEZONE)
# A little of every row-level fault, so silver quarantines some rows; no broken files.
DIRTY = replace(
    DirtyRates.clean(), bad_check_char=0.1, missing_required=0.1, duplicate=0.05, out_of_order=0.05
)
KILL_SEED = int(os.environ.get("HUB_FAULT_SEED", "20261110"))


def build_lake(settings: Settings | None = None) -> None:
    """Land DAY for DEPARTMENTS, load bronze, conform silver and build gold: the work a killed
    run is cut short in. Also the entry point of that run's process (settings from HUB_HOME)."""
    settings = settings or get_settings()
    for department in DEPARTMENTS:
        pipeline.load_bronze(settings, pipeline.ingest(settings, department, DAY))
    pipeline.publish_catalogue(settings)
    pending: dict[str, list[str]] = {}
    for department, batch_id in pipeline.pending_batches(settings):
        pending.setdefault(department, []).append(batch_id)
    pipeline.conform_silver(settings, pending)
    pipeline.build_gold(settings, AS_OF)


def _home(base: Settings, home: Path) -> Settings:
    settings = base.model_copy(update={"home": home})
    simulate(settings, DAY, seed=SEED, cases_per_day=CASES_PER_DAY, dirty=DIRTY)
    return settings


def _table(settings: Settings, layer: str, name: str) -> list[dict[str, Any]]:
    return read_table_rows(settings, layer, name)


def _bronze_records(settings: Settings) -> Counter[tuple[Any, ...]]:
    """Each bronze row by what identifies a landed record: batch, file checksum, line, text."""
    return Counter(
        (r["_department"], r["_batch_id"], r["_source_sha256"], r["_source_line"], r["record"])
        for r in _table(settings, "bronze", "case_record")
    )


def _keys(contract: str) -> list[str]:
    return [f.name for f in load_contract(contract).fields if f.primary_key]


@dataclass(frozen=True)
class Lake:
    """What a build left: bronze's records, each silver table's rows by key, the reconciliation
    rows, and each gold table's row count."""

    bronze: Counter[tuple[Any, ...]]
    silver: dict[str, Counter[tuple[Any, ...]]]
    reconciliation: Counter[tuple[Any, ...]]
    gold: dict[str, int]


def _lake(settings: Settings) -> Lake:
    silver = {
        name: Counter(tuple(r[k] for k in _keys(name)) for r in _table(settings, "silver", name))
        for name in pipeline.SILVER_CONTRACTS
    }
    reconciliation = Counter(
        (r["batch_id"], r["contract"], r["rows_in"], r["rows_valid"], r["rows_quarantined"])
        for r in _table(settings, *pipeline.RECONCILIATION)
    )
    gold_dir = settings.local_lake_dir / "gold"
    gold = {p.name: len(_table(settings, "gold", p.name)) for p in sorted(gold_dir.iterdir())}
    return Lake(_bronze_records(settings), silver, reconciliation, gold)


def _assert_nothing_lost_or_doubled(lake: Lake, reference: Lake, why: str) -> None:
    doubled = {record: n for record, n in lake.bronze.items() if n > 1}
    assert not doubled, f"{why}: bronze records loaded twice: {list(doubled)[:3]}"
    assert lake.bronze == reference.bronze, f"{why}: bronze differs from the clean build's"
    for name, rows in lake.silver.items():
        keys_twice = [key for key, n in rows.items() if n > 1]
        assert not keys_twice, f"{why}: silver/{name} holds keys twice: {keys_twice[:3]}"
        assert rows == reference.silver[name], f"{why}: silver/{name} differs from the clean build's"
    for batch_id, contract, rows_in, valid, quarantined in lake.reconciliation:
        assert rows_in == valid + quarantined, f"{why}: {batch_id} {contract} does not reconcile"
    assert lake.reconciliation == reference.reconciliation, f"{why}: reconciliation rows differ"
    assert lake.gold == reference.gold, f"{why}: gold row counts differ from the clean build's"


@dataclass(frozen=True)
class CleanBuild:
    settings: Settings
    lake: Lake


@pytest.fixture(scope="module")
def clean_build(hub_settings: Settings, spark, tmp_path_factory: pytest.TempPathFactory) -> CleanBuild:
    """The clean build of DAY, in a home of its own."""
    settings = _home(hub_settings, tmp_path_factory.mktemp("clean-build"))
    build_lake(settings)
    lake = _lake(settings)
    assert all(len(rows) == sum(rows.values()) > 0 for rows in (lake.bronze, lake.silver["case"]))
    assert any(quarantined for *_, quarantined in lake.reconciliation), "no row was quarantined"
    return CleanBuild(settings, lake)


@pytest.fixture(scope="module")
def reference(clean_build: CleanBuild) -> Lake:
    return clean_build.lake


def _first_commit(settings: Settings, layer: str, table: str) -> Path:
    return settings.local_lake_dir / layer / table / "_delta_log" / f"{0:020d}.json"


def _killed_at(
    settings: Settings, layer: str, table: str, delay: float
) -> subprocess.CompletedProcess[bytes]:
    """Start build_lake in a process group of its own and SIGKILL the group (the JVM with it)
    `delay` seconds after the first commit to layer/table."""
    env = os.environ | {"HUB_HOME": str(settings.home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.test_faults"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    commit = _first_commit(settings, layer, table)
    deadline = time.monotonic() + 600
    while not commit.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    still_running = process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=60)
    assert commit.exists(), f"the run ended before its first commit to {layer}/{table}: {stderr[-2000:]!r}"
    assert still_running, f"the run finished before the kill {delay:.2f} s after {layer}/{table}'s commit"
    return subprocess.CompletedProcess(process.args, process.returncode, b"", stderr)


# Where the kills fall: the first run is killed while it writes bronze, the run after it while it
# writes silver (its bronze now half there), so the last run resumes from both at once.
KILL_POINTS = (("bronze", "case_record"), ("silver", "case"))


def test_a_build_killed_during_its_delta_writes_and_run_again_loses_and_doubles_nothing(
    hub_settings: Settings, spark, reference: Lake, tmp_path: Path
) -> None:
    settings = _home(hub_settings, tmp_path)
    kills = []
    for layer, table in KILL_POINTS:
        # One kill point per layer: somewhere in the second after the layer's first commit.
        seed = f"{KILL_SEED}/{layer}"
        delay = random.Random(seed).uniform(0.0, 1.0)
        kills.append(f"{delay:.2f} s after the first commit to {layer}/{table} (seed {seed!r})")
        killed = _killed_at(settings, layer, table, delay)
        assert killed.returncode == -signal.SIGKILL, kills[-1]
    why = f"killed {' and '.join(kills)}; HUB_FAULT_SEED sets the seeds"

    build_lake(settings)

    _assert_nothing_lost_or_doubled(_lake(settings), reference, why)


def test_an_export_delivered_again_is_recorded_and_kept_apart_not_loaded_twice(
    clean_build: CleanBuild,
) -> None:
    settings = clean_build.settings
    next_day = DAY + dt.timedelta(days=1)
    resent: dict[str, bytes] = {}
    # The next day, each department hands over the day before's export again, under a new name.
    folder = settings.sources_dir / "food_drug"
    resent["food_drug"] = (folder / f"{DAY}" / "cases.jsonl").read_bytes()
    (folder / f"{next_day}").mkdir(parents=True)
    (folder / f"{next_day}" / "cases-resent.jsonl").write_bytes(resent["food_drug"])
    bucket = settings.home / "buckets" / "dept-health" / "exports"
    resent["health"] = (bucket / f"{DAY}" / "cases-0001.json").read_bytes()
    (bucket / f"{next_day}").mkdir(parents=True)
    (bucket / f"{next_day}" / "cases-0001.json").write_bytes(resent["health"])

    loaded = {d: pipeline.load_bronze(settings, pipeline.ingest(settings, d, next_day)) for d in resent}

    assert {d: (b["rows"], b["rejected"]) for d, b in loaded.items()} == dict.fromkeys(resent, (0, 1))
    assert _bronze_records(settings) == clean_build.lake.bronze, "a record was loaded twice"
    redelivered_to = f"{next_day:%Y%m%d}"
    incidents = {
        i["department"]: i
        for i in _table(settings, *pipeline.FILE_INCIDENTS)
        if i["batch_id"].endswith(redelivered_to)
    }
    assert sorted(incidents) == sorted(resent)
    for department, incident in incidents.items():
        assert incident["reason"].startswith("redelivered: the same bytes"), incident
        assert f"{department}/{department}-{DAY:%Y%m%d}/{DAY}/" in incident["reason"], incident
        assert incident["file"].startswith(f"{department}/{incident['batch_id']}/rejected/{next_day}/")
        # Nothing lost: the second delivery is kept, byte for byte, apart from what bronze reads.
        assert (settings.local_landing_dir / incident["file"]).read_bytes() == resent[department]


if __name__ == "__main__":
    build_lake()
