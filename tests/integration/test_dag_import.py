from pathlib import Path

import pytest

from hub.airflow_runner import DAGS_DIR
from hub.settings import Settings
from jobs.departments import bronze_asset_uri, department_names

pytestmark = pytest.mark.integration


def test_dags_import_cleanly_with_owner_retries_and_tags(airflow_configured: Settings) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    ingestion = {f"ingest_{d}" for d in department_names()}
    assert set(bag.dags) == ingestion | {"build_lakehouse", "ship_audit"}
    for dag_id, dag in bag.dags.items():
        # The registry generates the ingestion DAGs from one file; every other DAG is named after its file.
        expected_file = "ingest_departments" if dag_id in ingestion else dag_id
        assert Path(dag.fileloc).stem == expected_file
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, "one writer per table at a time"
        for task in dag.tasks:
            assert task.owner not in {"", "airflow"}, f"{dag_id}.{task.task_id} has no owner"
            assert (task.retries or 0) >= 1, f"{dag_id}.{task.task_id} does not retry"
            assert task.retry_exponential_backoff, f"{dag_id}.{task.task_id} retries without back-off"
            # Recorded in quality/task_failures when it fails for good (hub.task_failures).
            callbacks = task.on_failure_callback
            assert callbacks, f"{dag_id}.{task.task_id} records no failure"
            names = {
                getattr(c, "__qualname__", "")
                for c in (callbacks if isinstance(callbacks, list) else [callbacks])
            }
            assert names == {"on_task_failure.<locals>.record"}, f"{dag_id}.{task.task_id}: {names}"


def test_lakehouse_build_is_scheduled_by_the_bronze_assets(airflow_configured: Settings) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    build = bag.get_dag("build_lakehouse")
    # Any one department's new bronze batch is enough to start a build.
    condition = build.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"
    assert {a.uri for a in condition.objects} == {bronze_asset_uri(d) for d in department_names()}
    for department in department_names():
        load = bag.get_dag(f"ingest_{department}").get_task("load_bronze")
        assert [o.uri for o in load.outlets] == [bronze_asset_uri(department)]


def test_the_audit_and_feedback_journals_are_shipped_every_hour(airflow_configured: Settings) -> None:
    from airflow.dag_processing.dagbag import DagBag

    ship = DagBag(dag_folder=str(DAGS_DIR)).get_dag("ship_audit")
    assert ship.timetable.expression == "0 * * * *"
    assert sorted(t.task_id for t in ship.tasks) == ["ship_feedback", "ship_journal"]
    # Neither waits for the other: one journal's failure does not hold the other back.
    assert all(not t.upstream_task_ids for t in ship.tasks)
