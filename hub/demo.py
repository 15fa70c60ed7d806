"""`hub demo`: simulate five departments, run their DAGs through Airflow, serve gold and show a profile."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import httpx
from rich.console import Console

from hub.serving import BackgroundServer
from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.storage import read_table_rows

if TYPE_CHECKING:
    from hub.credentials import NewCredential

Step = Callable[[str], None]
# The department whose window the demo plays when it asks the API for a profile.
DEMO_DEPARTMENT = "market_regulation"
DEMO_PURPOSE = "approval_handling"


def stepper(console: Console) -> Step:
    started = time.monotonic()

    def step(text: str) -> None:
        console.print(f"[bold cyan][{time.monotonic() - started:6.1f}s][/] {text}")

    return step


def show_pipeline_progress(step: Step) -> None:
    """Pipeline steps report through logging; Airflow configures its own handlers, so the demo
    attaches one that Airflow does not touch."""

    class StepHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            step("  " + record.getMessage())

    pipeline_log = logging.getLogger("hub.pipeline")
    pipeline_log.setLevel(logging.INFO)
    pipeline_log.propagate = False
    pipeline_log.addHandler(StepHandler())


def report_run(settings: Settings, step: Step) -> list[str]:
    """Print how each batch reconciled and a few quarantined rows; return the shared subjects."""
    batches = read_table_rows(settings, "quality", "batch_reconciliation")
    for rec in sorted(batches, key=lambda r: (str(r["batch_id"]), str(r["contract"]))):
        step(
            f"  {rec['batch_id']} {rec['contract']}: {rec['rows_in']} rows in = {rec['rows_valid']} valid "
            f"+ {rec['rows_quarantined']} quarantined"
        )
    for bad in read_table_rows(settings, "silver", "quarantine")[:3]:
        step(f"  quarantined {bad['_department']} line {bad['_source_line']}: {', '.join(bad['reasons'])}")
    profiles = read_table_rows(settings, "gold", "subject_profile")
    shared = sorted(str(p["subject_id"]) for p in profiles if len(p["departments"]) > 1)
    step(f"gold subject_profile: {len(shared)} of {len(profiles)} subjects have cases in several departments")
    registry = read_table_rows(settings, "gold", "material_registry")
    reused = sum(1 for r in registry if r["submissions"] > 1)
    step(
        f"gold material_registry: {len(registry)} reusable materials on file, "
        f"{reused} handed in twice or more"
    )
    alerts = Counter(str(a["rule"]) for a in read_table_rows(settings, "gold", "supervision_alert"))
    step(
        "gold supervision_alert: "
        + (", ".join(f"{n} {rule}" for rule, n in sorted(alerts.items())) or "none")
    )
    daily = read_table_rows(settings, "gold", "throughput_daily")
    step(
        f"gold throughput_daily: {sum(r['received'] for r in daily)} received, "
        f"{sum(r['decided'] for r in daily)} decided ({sum(r['overdue'] for r in daily)} overdue), "
        f"{sum(r['visits_saved'] for r in daily)} visits saved"
    )
    return shared


def serve_and_show(settings: Settings, subject_id: str, console: Console, step: Step, stay_up: bool) -> None:
    """Serve the API and ask it for a profile the way a department's window system does."""
    from hub.credentials import credential_registry
    from hub.grants import grant_registry

    registry = credential_registry(settings)
    grants = grant_registry(settings)
    # A client and a grant for this run only: the secret is printed for the curl commands below,
    # and both are revoked when the demo ends, so they open nothing afterwards.
    client = registry.create(DEMO_DEPARTMENT, note="hub demo; revoked when the demo ends")
    step(f"API client {client.client_id} created for {DEMO_DEPARTMENT} (hub credentials create)")
    try:
        # Masked, so the profile shows all three treatments: other departments' conditional
        # fields with personal data masked, their not-shared fields withheld, its own records whole.
        grant = grants.create(
            DEMO_DEPARTMENT,
            DEMO_PURPOSE,
            approved_by="hub demo",
            basis="hub demo; revoked when the demo ends",
        )
        step(f"grant {grant.grant_id}: {DEMO_PURPOSE}, personal data masked (hub grants create)")
        try:
            show_profile(settings, subject_id, client, console, step, stay_up=stay_up)
        finally:
            grants.revoke(grant.grant_id)
            step(f"grant {grant.grant_id} revoked")
    finally:
        registry.revoke(client.client_id)
        step(f"API client {client.client_id} revoked")


def show_profile(
    settings: Settings, subject_id: str, client: NewCredential, console: Console, step: Step, *, stay_up: bool
) -> None:
    """Serve the API, get a token with `client` and print the profile its department sees."""
    from api.main import create_app

    client_id, client_secret = client.client_id, client.secret
    with BackgroundServer(create_app(settings), settings.api_host, settings.api_port) as server:
        token_url = f"{server.url}/v1/token"
        issued = httpx.post(
            token_url,
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
            timeout=30,
        )
        issued.raise_for_status()
        token = issued.json()["access_token"]
        url = f"{server.url}/v1/subjects/{subject_id}?purpose={DEMO_PURPOSE}"
        step(f"API up; a token from POST {token_url}, then GET {url}")
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        response.raise_for_status()
        profile = response.json()
        console.print_json(json.dumps(profile, ensure_ascii=False))
        withheld = ", ".join(
            f"{w['field']} of {w['department'] or 'several departments'} ({w['sharing_class']})"
            for w in profile["withheld"]
        )
        step(f"{DEMO_DEPARTMENT} sees masked: {', '.join(profile['masked']) or 'nothing'}")
        step(f"withheld from {DEMO_DEPARTMENT}: {withheld or 'nothing'}")
        console.print(
            f"\nAsk again with (the token is valid for {issued.json()['expires_in']} seconds):\n"
            f"  curl -s -H 'Authorization: Bearer {token}' '{url}'\n"
            "A new token:\n"
            f"  curl -s -u '{client_id}:{client_secret}' -d grant_type=client_credentials {token_url}\n"
            f"The analysts' dashboard (no token): {server.url}/dashboard\n"
            "A month's report: .venv/bin/hub report monthly --month YYYY-MM\n"
        )
        if stay_up:
            console.print("The API stays up until Ctrl-C.")
            with contextlib.suppress(KeyboardInterrupt):
                server.thread.join()


def department_service(settings: Settings) -> BackgroundServer:
    """The housing bureau's HTTP API, on the address its registry entry (or HUB_SOURCE_URLS) names."""
    from hub.simulator.service import create_department_api
    from jobs.departments import load_mappings
    from jobs.sources import interface_url

    mapping = load_mappings(settings.mappings_dir)["housing_construction"]
    address = urlparse(interface_url(settings, mapping))
    app = create_department_api(settings.sources_dir / "housing_construction" / "system.db")
    return BackgroundServer(app, address.hostname or "127.0.0.1", address.port or 80)


def reset_demo_state(settings: Settings) -> list[Path]:
    """Remove what an earlier demo left (drops, landing zone, lakehouse, Airflow's database), so a
    run shows this run: landed batches are reused by design, and would hide a new simulation."""
    removed = []
    for folder in (
        settings.sources_dir,
        settings.local_landing_dir,
        settings.local_lake_dir,
        settings.home / "buckets",
        settings.airflow_home,
        settings.gx_docs_dir,
    ):
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


def run_demo(settings: Settings, console: Console, seed: int, cases_per_day: int, stay_up: bool) -> bool:
    from hub.airflow_runner import run_asset_triggered, run_ingestion
    from hub.simulator import simulate
    from jobs.departments import department_names

    step = stepper(console)
    show_pipeline_progress(step)
    if settings.storage != "local":
        raise ValueError("the demo runs on the embedded local storage; unset HUB_STORAGE")
    for folder in reset_demo_state(settings):
        step(f"removed the previous demo's {folder}")
    yesterday = dt.datetime.now(DISTRICT_TIMEZONE).date() - dt.timedelta(days=1)
    days = [yesterday - dt.timedelta(days=1), yesterday]
    step(f"simulating five department systems for {days[0]} and {days[1]} (seed {seed})")
    for sent in simulate(settings, days[0], days=len(days), seed=seed, cases_per_day=cases_per_day):
        faults = ", ".join(f"{k} {v}" for k, v in sorted(sent.faults.items())) or "none"
        step(f"  {sent.department} {sent.day}: {sent.records} records sent (dirty: {faults})")
    with department_service(settings) as service:
        step(f"housing_construction's case API up at {service.url}")
        for day in days:
            for department in department_names():
                dag_id = f"ingest_{department}"
                step(f"running DAG {dag_id} for {day} through Airflow")
                state = run_ingestion(settings, department, day)
                if state != "success":
                    console.print(f"[red]{dag_id} for {day} ended {state}; see the task logs above[/]")
                    return False
    step("bronze assets updated; running the DAGs they triggered (conform -> GX gate -> gold)")
    for dag_id, state in run_asset_triggered(settings).items():
        if state != "success":
            console.print(f"[red]{dag_id} ended {state}; see the task logs above[/]")
            return False
        step(f"DAG {dag_id} succeeded")
    shared = report_run(settings, step)
    serve_and_show(settings, shared[0], console, step, stay_up)
    step("demo finished")
    return True
