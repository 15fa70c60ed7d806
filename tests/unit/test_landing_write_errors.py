"""A full disk or a denied permission under the landing zone fails the pull with an error that
names the path and the cause, and the failed task's callback records the department and that path
in quality/task_failures (a pull of a file-drop department starts no JVM)."""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.settings import Settings
from hub.simulator import DirtyRates, simulate
from hub.storage import StoreWriteError, read_table_rows
from hub.task_failures import TASK_FAILURES, on_task_failure
from jobs import pipeline
from jobs.landing import batch_id_for

pytestmark = pytest.mark.unit

DEPARTMENT = "food_drug"
DAY = dt.date(2026, 11, 12)


@dataclass
class TaskInstance:
    """The fields of Airflow's task instance the callback reads."""

    dag_id: str = f"ingest_{DEPARTMENT}"
    task_id: str = "pull"
    run_id: str = "scheduled__2026-11-12"
    try_number: int = 2


@pytest.fixture
def delivered(own_home: Settings) -> Settings:
    simulate(own_home, DAY, seed=3, cases_per_day=20, dirty=DirtyRates.clean())
    return own_home


def _export_key(settings: Settings) -> str:
    (export,) = sorted((settings.sources_dir / DEPARTMENT / DAY.isoformat()).iterdir())
    return f"{DEPARTMENT}/{batch_id_for(DEPARTMENT, DAY)}/{DAY.isoformat()}/{export.name}"


def _failed_pull(settings: Settings) -> StoreWriteError:
    with pytest.raises(StoreWriteError) as failed:
        pipeline.ingest(settings, DEPARTMENT, DAY)
    # What the Airflow task would have raised goes to the DAGs' failure callback.
    on_task_failure(DEPARTMENT)({"ti": TaskInstance(), "exception": failed.value})
    return failed.value


def _recorded(settings: Settings) -> list[tuple[str | None, str | None, str]]:
    return [(f["department"], f["file"], f["error_type"]) for f in read_table_rows(settings, *TASK_FAILURES)]


def test_a_full_disk_fails_the_pull_naming_the_path(delivered: Settings) -> None:
    settings = delivered
    target = settings.local_landing_dir / _export_key(settings)
    # A write that goes to /dev/full fails as one to a full disk does: ENOSPC.
    partial = target.with_name(target.name + ".partial")
    partial.parent.mkdir(parents=True)
    partial.symlink_to("/dev/full")

    error = _failed_pull(settings)

    assert error.file == str(target)
    assert str(error) == f"could not write {target}: No space left on device"
    assert isinstance(error.__cause__, OSError)
    assert error.__cause__.errno == errno.ENOSPC
    assert not partial.exists(), "half a payload was left in the landing zone"
    assert not target.exists()
    assert not list(settings.local_landing_dir.rglob("_manifest.json")), "a batch was recorded as landed"
    assert _recorded(settings) == [(DEPARTMENT, str(target), "StoreWriteError")]


@pytest.fixture
def immutable_landing(delivered: Settings) -> Iterator[Path]:
    """The department's landing folder made immutable: the tests run as root, whom permission
    bits do not stop, but the immutable attribute does (EPERM)."""
    folder = delivered.local_landing_dir / DEPARTMENT
    folder.mkdir(parents=True)
    chattr = shutil.which("chattr")
    assert chattr, "chattr (e2fsprogs) is needed to deny root a write"
    subprocess.run([chattr, "+i", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_a_permission_error_fails_the_pull_naming_the_path(
    delivered: Settings, immutable_landing: Path
) -> None:
    settings = delivered
    target = settings.local_landing_dir / _export_key(settings)

    error = _failed_pull(settings)

    assert error.file == str(target)
    assert str(error) == f"could not write {target}: Operation not permitted"
    assert isinstance(error.__cause__, PermissionError)
    assert os.listdir(immutable_landing) == []
    assert _recorded(settings) == [(DEPARTMENT, str(target), "StoreWriteError")]
