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

from hub.settings import REPO_ROOT, Settings

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


def run_dag(settings: Settings, dag_id: str, logical_date: dt.datetime) -> str:
    """Run one DAG run in this process (Airflow's `dag.test`) and return its final state."""
    configure_airflow(settings)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"no DAG {dag_id} in {DAGS_DIR}")
    run = dag.test(logical_date=logical_date)
    return str(run.state)
