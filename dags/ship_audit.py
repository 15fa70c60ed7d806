"""Ship the API's journals to the lake every hour: the audit journal to `audit/access_log`, the
windows' reuse events to `feedback/reuse_event`.

Appends the segments the API has sealed, and those a stopped API left open, each exactly once (and
each reuse event once, however often its window sent it); the API keeps writing its open segments
meanwhile. Runs where the journals are (the API's disk). Wiring only: the work is in hub.audit and
hub.feedback, imported inside the tasks.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import dag, task

from hub.airflow_runner import task_defaults
from hub.settings import get_settings

DEFAULT_ARGS = task_defaults(get_settings())


@dag(
    dag_id="ship_audit",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,  # one shipper at a time; hub.audit also locks the journal
    default_args=DEFAULT_ARGS,
    tags=["approval-hub", "audit"],
)
def ship_audit() -> None:
    @task
    def ship_journal() -> dict[str, Any]:
        from hub import audit

        return audit.ship(get_settings()).as_dict()

    @task
    def ship_feedback() -> dict[str, Any]:
        from hub import feedback

        return feedback.ship(get_settings()).as_dict()

    # Independent: a failure of one leaves the other's journal shipping.
    ship_journal()
    ship_feedback()


ship_audit()
