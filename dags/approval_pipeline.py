"""Daily pipeline: land each department's export, load bronze, conform silver, gate with GX, build gold.

Wiring only: every task calls one function of jobs.pipeline. Imports of Spark and GX happen
inside the tasks, so parsing this file stays fast.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.sdk import dag, get_current_context, task

from jobs.departments import department_names

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": dt.timedelta(seconds=20),
    "retry_exponential_backoff": 2.0,
}


def _export_day() -> dt.date:
    """The data interval this run owns: one day of department exports, in the district's time zone."""
    start = get_current_context()["data_interval_start"]
    if start is None:
        raise ValueError("approval_pipeline runs on a schedule; a run without a data interval has no day")
    return pendulum.instance(start).in_timezone("Asia/Shanghai").date()


@dag(
    dag_id="approval_pipeline",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,  # one writer per Delta table at a time
    default_args=DEFAULT_ARGS,
    tags=["approval-hub", "ingestion", "lakehouse"],
)
def approval_pipeline() -> None:
    @task
    def land(department: str) -> dict[str, Any]:
        from hub.settings import get_settings
        from jobs import pipeline

        return pipeline.land(get_settings(), department, _export_day())

    @task
    def load_bronze(landed: dict[str, Any]) -> dict[str, Any]:
        from hub.settings import get_settings
        from jobs import pipeline

        return pipeline.load_bronze(get_settings(), landed)

    @task
    def conform_silver(loaded: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from hub.settings import get_settings
        from jobs import pipeline

        # Sequential on purpose: silver/case has one writer at a time.
        return [pipeline.conform_silver(get_settings(), b["batch_id"], b["department"]) for b in loaded]

    @task
    def validate_silver(reconciled: list[dict[str, Any]]) -> dict[str, Any]:
        from hub.settings import get_settings
        from jobs import pipeline

        return pipeline.validate_silver(get_settings())

    @task
    def build_gold(gate: dict[str, Any]) -> dict[str, Any]:
        from hub.settings import get_settings
        from jobs import pipeline

        return pipeline.build_gold(get_settings())

    loaded = [
        load_bronze.override(task_id=f"load_bronze_{d}")(land.override(task_id=f"land_{d}")(d))
        for d in department_names()
    ]
    build_gold(validate_silver(conform_silver(loaded)))


approval_pipeline()
