"""Conform, gate and publish: runs when any department's ingestion updates its bronze asset.

Publishes the item catalogue that cases are checked against, conforms every bronze batch that
silver has not reconciled yet (whichever department's asset triggered the run), gates silver
with the contract's GX suite, then rebuilds gold. Wiring only: every task calls one function of
jobs.pipeline, imported inside the task.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import Asset, AssetAny, dag, task

from hub.airflow_runner import task_defaults
from hub.settings import get_settings
from jobs.departments import bronze_asset_uri, department_names

DEFAULT_ARGS = task_defaults(get_settings())


@dag(
    dag_id="build_lakehouse",
    schedule=AssetAny(*[Asset(bronze_asset_uri(d)) for d in department_names()]),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,  # silver and gold have one writer at a time
    default_args=DEFAULT_ARGS,
    tags=["approval-hub", "lakehouse"],
)
def build_lakehouse() -> None:
    @task
    def publish_catalogue() -> dict[str, Any]:
        from jobs import pipeline

        return pipeline.publish_catalogue(get_settings())

    @task
    def conform_silver(catalogue: dict[str, Any]) -> list[dict[str, Any]]:
        from jobs import pipeline

        settings = get_settings()
        pending: dict[str, list[str]] = {}
        for department, batch_id in pipeline.pending_batches(settings):
            pending.setdefault(department, []).append(batch_id)
        # One pass per contract over every department: each silver table has one writer at a time.
        return pipeline.conform_silver(settings, pending)

    @task
    def validate_silver(reconciled: list[dict[str, Any]]) -> dict[str, Any]:
        from jobs import pipeline

        return pipeline.validate_silver(get_settings())

    @task(outlets=[Asset("hub://lake/gold/subject_profile")])
    def build_gold(gate: dict[str, Any]) -> dict[str, Any]:
        from jobs import pipeline

        return pipeline.build_gold(get_settings())

    @task
    def build_marts(built: dict[str, Any]) -> dict[str, Any]:
        from jobs import pipeline

        return pipeline.build_marts(get_settings())

    @task
    def maintain_lakehouse(marts: dict[str, Any]) -> list[dict[str, Any]]:
        from jobs import pipeline

        # After the build, in the same run: a table never has two writers at once.
        return pipeline.maintain_lakehouse(get_settings())

    maintain_lakehouse(build_marts(build_gold(validate_silver(conform_silver(publish_catalogue())))))


build_lakehouse()
