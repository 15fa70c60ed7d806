from pathlib import Path

import pytest

from hub.airflow_runner import DAGS_DIR
from hub.settings import Settings

pytestmark = pytest.mark.integration


def test_dags_import_cleanly_with_owner_retries_and_tags(airflow_configured: Settings) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert bag.dags, "no DAGs found"
    for dag_id, dag in bag.dags.items():
        assert dag_id == Path(dag.fileloc).stem, "DAG id equals its file name"
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.owner not in {"", "airflow"}, f"{dag_id}.{task.task_id} has no owner"
            assert (task.retries or 0) >= 1, f"{dag_id}.{task.task_id} does not retry"
