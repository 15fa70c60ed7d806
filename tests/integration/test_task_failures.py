"""A task that fails for good is recorded with its department and the file it could not read, by
the DAG's failure callback, through a real run of one department's ingestion DAG (no lakehouse
build: the pull fails before anything starts Spark)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from hub.airflow_runner import run_ingestion
from hub.settings import Settings
from hub.storage import read_table_rows
from hub.task_failures import TASK_FAILURES

pytestmark = pytest.mark.integration

DEPARTMENT = "food_drug"
# After the days the end-to-end scenario simulates, so its files and watermarks are not touched.
DAY = dt.date(2026, 12, 20)


def test_a_department_file_that_cannot_be_read_is_recorded_with_its_department_and_path(
    airflow_configured: Settings,
) -> None:
    settings = airflow_configured
    day_folder = settings.sources_dir / DEPARTMENT / DAY.isoformat()
    unreadable = day_folder / "cases.jsonl"
    # The tests run as root, whom no permission bit stops from reading a file: a directory where
    # the department's export should be fails the read for anyone.
    unreadable.mkdir(parents=True)
    try:
        state = run_ingestion(settings, DEPARTMENT, DAY)
    finally:
        shutil.rmtree(day_folder)
    assert state == "failed"

    failures = [
        f
        for f in read_table_rows(settings, *TASK_FAILURES)
        if f["dag_id"] == f"ingest_{DEPARTMENT}" and DAY.isoformat() in (f["file"] or "")
    ]
    # Once, after its retry: a try that will be retried is not a failure to act on yet.
    assert [
        (f["task_id"], f["department"], f["file"], f["error_type"], f["try_number"]) for f in failures
    ] == [("pull", DEPARTMENT, str(unreadable), "IsADirectoryError", settings.task_retries + 1)]
    assert str(unreadable) in failures[0]["error"]
    assert failures[0]["run_id"]
