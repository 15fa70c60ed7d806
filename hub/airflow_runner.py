"""Run the hub's DAGs through Airflow itself, on an embedded SQLite metadata database.

Airflow reads its configuration from the environment when it is first imported, so
`configure_airflow` must run before anything imports airflow in this process.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hub.settings import DISTRICT_TIMEZONE, REPO_ROOT, Settings

DAGS_DIR = REPO_ROOT / "dags"


def airflow_env(settings: Settings) -> dict[str, str]:
    home = settings.airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # Asset-triggered DAGs only queue runs when they are not paused.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # The hub's settings travel to task code through the environment too.
        "HUB_HOME": str(settings.home),
    }


def configure_airflow(settings: Settings) -> None:
    """Point Airflow at the hub's DAGs and a local SQLite database, creating it on first use."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(settings)
    os.environ.update(env)
    if "airflow" in sys.modules:
        return  # already configured in this process
    marker = settings.airflow_home / ".migrated"
    if not marker.exists():
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run(
            [str(airflow), "db", "migrate"], check=True, env=os.environ.copy(), stdout=subprocess.DEVNULL
        )
        marker.touch()


def task_defaults(settings: Settings, department: str | None = None) -> dict[str, Any]:
    """default_args every hub DAG shares: an owner, retries with exponential back-off, and a
    failure, once the retries are spent, recorded with the department the DAG works for (None: a
    DAG over every department) in `quality/task_failures`."""
    from hub.task_failures import on_task_failure

    return {
        "owner": "data-platform",
        "on_failure_callback": on_task_failure(department),
        "retries": settings.task_retries,
        "retry_delay": dt.timedelta(seconds=settings.task_retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=10),
    }


def load_dags(settings: Settings) -> Any:
    """Parse the DAG folder; `dag.test` then registers the folder's DAGs in the metadata database
    as the DAG processor would, so asset events queue runs of the DAGs scheduled on them."""
    configure_airflow(settings)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag


def run_dag(settings: Settings, dag_id: str, logical_date: dt.datetime | None) -> str:
    """Run one DAG run in this process (Airflow's `dag.test`) and return its final state."""
    dag = load_dags(settings).get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"no DAG {dag_id} in {DAGS_DIR}")
    run = dag.test(logical_date=logical_date)
    return str(run.state)


def run_ingestion(settings: Settings, department: str, day: dt.date) -> str:
    """Run `ingest_<department>` for the data interval of one district day; return its state."""
    return run_dag(settings, f"ingest_{department}", dt.datetime.combine(day, dt.time(), DISTRICT_TIMEZONE))


def queued_by_assets() -> list[str]:
    """DAGs with asset events waiting for them: what Airflow's scheduler would start next."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session

    with create_session() as session:
        return sorted({row.target_dag_id for row in session.query(AssetDagRunQueue).all()})


def run_asset_triggered(settings: Settings) -> dict[str, str]:
    """Run each DAG that asset events have queued, once, as the scheduler would; return the states.

    Stands in for the scheduler where none runs (the demo, the tests); the queue entries are
    consumed exactly as a scheduler-created run consumes them.
    """
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session

    configure_airflow(settings)
    states = {}
    for dag_id in queued_by_assets():
        with create_session() as session:
            session.query(AssetDagRunQueue).filter(AssetDagRunQueue.target_dag_id == dag_id).delete()
        states[dag_id] = run_dag(settings, dag_id, None)
    return states
