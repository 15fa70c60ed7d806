"""What a failed task's callback context is recorded as: the department, the file, the error."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from hub.task_failures import ERROR_CHARS, failed_batch, failed_file, failure_from_context

pytestmark = pytest.mark.unit

AT = dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)


@dataclass
class TaskInstance:
    """The fields of Airflow's task instance the callback reads."""

    dag_id: str = "ingest_health"
    task_id: str = "pull"
    run_id: str = "scheduled__2026-11-24"
    try_number: int = 3


class BatchError(RuntimeError):
    def __init__(self, message: str, batch_id: str) -> None:
        super().__init__(message)
        self.batch_id = batch_id


def test_the_file_is_found_in_the_error_or_what_it_was_raised_from() -> None:
    direct = FileNotFoundError(2, "No such file", "/sources/health/2026-11-24/a.json")
    assert failed_file(direct) == "/sources/health/2026-11-24/a.json"
    # As `raise BatchError(...) from error` chains them.
    wrapped = BatchError("bronze could not read the batch", "health-20261124")
    wrapped.__cause__ = PermissionError(13, "Permission denied", "/sources/health/2026-11-24/b.json")
    assert failed_file(wrapped) == "/sources/health/2026-11-24/b.json"
    assert failed_batch(wrapped) == "health-20261124"
    assert failed_file(RuntimeError("the API answered 503")) is None
    assert failed_file("timed out") is None
    assert failed_file(None) is None


def test_a_context_becomes_one_failure_record() -> None:
    error = IsADirectoryError(21, "Is a directory", "/sources/health/2026-11-24/c.json")
    failure = failure_from_context({"ti": TaskInstance(), "exception": error}, "health", AT)
    assert (failure.dag_id, failure.task_id, failure.run_id, failure.try_number) == (
        "ingest_health",
        "pull",
        "scheduled__2026-11-24",
        3,
    )
    assert (failure.department, failure.file, failure.batch_id) == (
        "health",
        "/sources/health/2026-11-24/c.json",
        None,
    )
    assert failure.error_type == "IsADirectoryError"
    assert "c.json" in failure.error


def test_a_failure_outside_the_task_code_and_a_long_error_are_recorded_too() -> None:
    timed_out = failure_from_context({"ti": TaskInstance(), "exception": "task timed out"}, None, AT)
    assert (timed_out.error_type, timed_out.error, timed_out.department) == (
        "TaskFailed",
        "task timed out",
        None,
    )
    long = failure_from_context({"ti": TaskInstance(), "exception": ValueError("x" * 10_000)}, "health", AT)
    assert len(long.error) == ERROR_CHARS
