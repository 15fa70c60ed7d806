"""The real thing: the DAG run by Airflow on simulated exports, then the API queried over HTTP."""

import datetime as dt

import httpx
import pytest

from api.main import create_app
from hub.airflow_runner import run_dag
from hub.settings import Settings
from hub.simulator import simulate_day
from hub.storage import read_table_rows
from tests.conftest import ServedApp

pytestmark = pytest.mark.integration

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_dag_builds_gold_and_api_serves_a_profile_from_both_departments(
    airflow_configured: Settings,
    spark,
) -> None:
    settings = airflow_configured
    day = dt.date.today() - dt.timedelta(days=2)
    files = simulate_day(settings.sources_dir, day, seed=3, subjects=60)

    assert run_dag(settings, "approval_pipeline", dt.datetime.combine(day, dt.time(), SHANGHAI)) == "success"

    reconciliation = read_table_rows(settings, "quality", "batch_reconciliation")
    assert {r["batch_id"] for r in reconciliation} >= {
        f"food_drug-{day:%Y%m%d}",
        f"market_regulation-{day:%Y%m%d}",
    }
    market_lines = len(files["market_regulation"].read_bytes().decode("gbk").splitlines()) - 1
    market = next(r for r in reconciliation if r["batch_id"] == f"market_regulation-{day:%Y%m%d}")
    assert market["rows_in"] == market_lines
    assert market["rows_in"] == market["rows_valid"] + market["rows_quarantined"]

    profiles = read_table_rows(settings, "gold", "subject_profile")
    shared = sorted(str(p["subject_id"]) for p in profiles if len(p["departments"]) == 2)
    assert shared, "no subject has cases in both departments"
    subject_id = shared[0]

    with ServedApp(create_app(settings)) as served:
        response = httpx.get(f"{served.url}/v1/subjects/{subject_id}")
        assert response.status_code == 200
        profile = response.json()
        assert profile["subject_id"] == subject_id
        assert {c["department"] for c in profile["cases"]} == {"food_drug", "market_regulation"}
        assert httpx.get(f"{served.url}/health").json()["subjects"] == len(profiles)
