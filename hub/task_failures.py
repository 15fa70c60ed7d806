"""Airflow task failures, recorded where operators look: the lake's `quality/task_failures` table
and an error line of the `hub.task_failures` logger, each naming the department and the file.

Every hub DAG's tasks call `on_task_failure(department)` when they fail for good (their retries
spent). A callback runs beside the task, not in a build, so it writes with delta-rs: no JVM to
start, and a failure to record is logged, never raised (Airflow would only log it anyway).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from hub.settings import Settings, get_settings
from hub.storage import delta_rs_location

log = logging.getLogger("hub.task_failures")

TASK_FAILURES = ("quality", "task_failures")
# An error's text is kept to this length: enough for a reason and a path, not a whole Spark plan.
ERROR_CHARS = 2000

TASK_FAILURE_SCHEMA = pa.schema(
    [
        pa.field("failed_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("dag_id", pa.string(), nullable=False),
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("try_number", pa.int64(), nullable=False),
        pa.field("department", pa.string()),
        pa.field("file", pa.string()),
        pa.field("batch_id", pa.string()),
        pa.field("error_type", pa.string(), nullable=False),
        pa.field("error", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class TaskFailure:
    failed_at: dt.datetime
    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    department: str | None
    file: str | None
    batch_id: str | None
    error_type: str
    error: str


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def failed_file(error: BaseException | str | None) -> str | None:
    """The file a failure names: an OSError's filename, or the `file` a hub error carries, from the
    error or anything in its chain of causes."""
    if not isinstance(error, BaseException):
        return None
    for cause in _causes(error):
        for attribute in ("filename", "file"):
            value = getattr(cause, attribute, None)
            if isinstance(value, str | os.PathLike):
                return os.fspath(value)
    return None


def failed_batch(error: BaseException | str | None) -> str | None:
    if not isinstance(error, BaseException):
        return None
    for cause in _causes(error):
        batch_id = getattr(cause, "batch_id", None)
        if isinstance(batch_id, str):
            return batch_id
    return None


def failure_from_context(
    context: Mapping[str, Any], department: str | None, failed_at: dt.datetime
) -> TaskFailure:
    """What a failed task's callback context says about the failure: Airflow passes the task
    instance as `ti` and what it raised as `exception` (an exception, or a text for a failure
    outside the task's code, such as a timeout)."""
    ti = context["ti"]
    error = context.get("exception")
    return TaskFailure(
        failed_at=failed_at,
        dag_id=str(ti.dag_id),
        task_id=str(ti.task_id),
        run_id=str(ti.run_id),
        try_number=int(ti.try_number),
        department=department,
        file=failed_file(error),
        batch_id=failed_batch(error),
        error_type=type(error).__name__ if isinstance(error, BaseException) else "TaskFailed",
        error=str(error)[:ERROR_CHARS] if error is not None else "",
    )


def record_task_failure(settings: Settings, failure: TaskFailure) -> None:
    """Log the failure, then append it to `quality/task_failures`."""
    fields = asdict(failure)
    log.error(
        "%s.%s failed for good (try %d, department %s, file %s): %s",
        failure.dag_id,
        failure.task_id,
        failure.try_number,
        failure.department or "-",
        failure.file or "-",
        failure.error,
        extra={k: fields[k] for k in ("dag_id", "task_id", "run_id", "department", "file", "batch_id")}
        | {"error_type": failure.error_type},
    )
    from deltalake import write_deltalake

    location, options = delta_rs_location(settings, *TASK_FAILURES)
    write_deltalake(
        location,
        pa.Table.from_pylist([fields], schema=TASK_FAILURE_SCHEMA),
        mode="append",
        storage_options=options,
    )


def on_task_failure(department: str | None) -> Callable[[Mapping[str, Any]], None]:
    """An `on_failure_callback` for a DAG's tasks; `department` is the one the DAG works for (None
    for a DAG over every department)."""

    def record(context: Mapping[str, Any]) -> None:
        failure = failure_from_context(context, department, dt.datetime.now(dt.UTC))
        try:
            record_task_failure(get_settings(), failure)
        except Exception:
            log.exception("could not record the failure of %s.%s", failure.dag_id, failure.task_id)

    return record
