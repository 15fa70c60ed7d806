"""One ingestion DAG per department, `ingest_<department>`, generated from the department registry.

Adding a department is adding its file to contracts/mappings/; no DAG code changes. (Airflow's
rule of one DAG per file named after it gives way here to that: the registry is the source.)
Each run pulls its data interval from the department's interface into the landing zone, then
loads the batch into bronze and updates the department's bronze asset, which schedules
`build_lakehouse`. Wiring only: the work is in jobs.pipeline, imported inside the tasks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, dag, get_current_context, task

from hub.airflow_runner import task_defaults
from hub.logs import log_context
from hub.settings import get_settings
from jobs.departments import bronze_asset_uri, load_mappings


def _interval_start() -> dt.date:
    """The day this run owns, in the district's time zone."""
    start = get_current_context()["data_interval_start"]
    if start is None:
        raise ValueError("ingestion runs on a schedule; a run without a data interval has no day")
    return pendulum.instance(start).in_timezone("Asia/Shanghai").date()


def ingestion_dag(department: str, name: str) -> DAG:
    @dag(
        dag_id=f"ingest_{department}",
        description=f"Pull {name} ({department}) into bronze",
        schedule="@daily",
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
        catchup=False,
        max_active_runs=1,  # one writer per department batch at a time
        default_args=task_defaults(get_settings(), department),
        tags=["approval-hub", "ingestion", department],
    )
    def ingest() -> None:
        @task
        def pull() -> dict[str, Any]:
            from jobs import pipeline

            with log_context(department=department):
                return pipeline.ingest(get_settings(), department, _interval_start())

        @task(outlets=[Asset(bronze_asset_uri(department))])
        def load_bronze(landed: dict[str, Any]) -> dict[str, Any]:
            from jobs import pipeline

            with log_context(department=department, batch_id=landed["batch_id"]):
                return pipeline.load_bronze(get_settings(), landed)

        load_bronze(pull())

    built: DAG = ingest()
    return built


for _department, _mapping in load_mappings().items():
    globals()[f"ingest_{_department}"] = ingestion_dag(_department, _mapping.name)
