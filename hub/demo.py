"""`hub demo`: simulate two departments, run the DAG through Airflow, serve gold and show a profile."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable

import httpx
import uvicorn
from rich.console import Console

from hub.settings import Settings
from hub.storage import read_table_rows

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
Step = Callable[[str], None]


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
    for rec in sorted(batches, key=lambda r: str(r["batch_id"])):
        step(
            f"  {rec['batch_id']}: {rec['rows_in']} rows in = {rec['rows_valid']} valid "
            f"+ {rec['rows_quarantined']} quarantined"
        )
    for bad in read_table_rows(settings, "silver", "quarantine")[:3]:
        step(f"  quarantined {bad['_department']} line {bad['_source_line']}: {', '.join(bad['reasons'])}")
    profiles = read_table_rows(settings, "gold", "subject_profile")
    shared = sorted(str(p["subject_id"]) for p in profiles if len(p["departments"]) > 1)
    step(f"gold subject_profile: {len(shared)} of {len(profiles)} subjects have cases in several departments")
    return shared


def serve_and_show(settings: Settings, subject_id: str, console: Console, step: Step, stay_up: bool) -> None:
    from api.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host=settings.api_host, port=settings.api_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the API could not start on {settings.api_host}:{settings.api_port}")
        time.sleep(0.1)
    url = f"http://{settings.api_host}:{settings.api_port}/v1/subjects/{subject_id}"
    step(f"API up; GET {url}")
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    console.print_json(json.dumps(response.json(), ensure_ascii=False))
    console.print(f"\nAsk again with:\n  curl -s {url}\n")
    if stay_up:
        console.print("The API stays up until Ctrl-C.")
        with contextlib.suppress(KeyboardInterrupt):
            thread.join()
    server.should_exit = True
    thread.join(timeout=10)


def run_demo(settings: Settings, console: Console, seed: int, subjects: int, stay_up: bool) -> bool:
    from hub.airflow_runner import run_dag
    from hub.simulator import simulate_day

    step = stepper(console)
    show_pipeline_progress(step)
    day = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=1)
    step(f"simulating department exports for {day} (seed {seed}) into {settings.sources_dir}")
    for department, path in simulate_day(settings.sources_dir, day, seed=seed, subjects=subjects).items():
        step(f"  {department}: {path.name}, {path.stat().st_size} bytes")
    step("running DAG approval_pipeline through Airflow (land -> bronze -> silver -> GX gate -> gold)")
    state = run_dag(settings, "approval_pipeline", dt.datetime.combine(day, dt.time(), SHANGHAI))
    if state != "success":
        console.print(f"[red]DAG run ended {state}; see the task logs above[/]")
        return False
    step("DAG run succeeded")
    shared = report_run(settings, step)
    serve_and_show(settings, shared[0], console, step, stay_up)
    step("demo finished")
    return True
