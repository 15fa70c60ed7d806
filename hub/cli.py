"""The `hub` command: the one command-line entry point of the hub."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import threading
import time
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.identifiers import check_subject_id
from hub.settings import get_settings

app = typer.Typer(help="Approval data-sharing hub.", no_args_is_help=True)
ids_app = typer.Typer(help="Check subject identifiers.", no_args_is_help=True)
app.add_typer(ids_app, name="ids")
console = Console()
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _interactive() -> bool:
    return sys.stdin.isatty() and os.environ.get("CI", "").lower() not in {"1", "true", "yes"}


@ids_app.command("check")
def ids_check(values: Annotated[list[str], typer.Argument(help="Resident IDs or credit codes.")]) -> None:
    """Print each value's kind and validity; exit 1 when any is invalid."""
    invalid = 0
    for value in values:
        result = check_subject_id(value)
        kind = result.kind or "unknown"
        if result.valid:
            console.print(f"{result.value}\t{kind}\tvalid")
        else:
            invalid += 1
            console.print(f"{result.value}\t{kind}\tinvalid: {result.reason}")
    raise typer.Exit(code=1 if invalid else 0)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides HUB_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides HUB_API_PORT.")] = None,
) -> None:
    """Serve the API (subject profiles from gold) until interrupted."""
    import uvicorn

    from api.main import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings), host=host or settings.api_host, port=port or settings.api_port, log_level="info"
    )


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    subjects: Annotated[int, typer.Option(help="How many subjects the simulator invents.")] = 120,
) -> None:
    """Simulate two departments, run the pipeline DAG through Airflow, serve and print a profile."""
    import httpx
    import uvicorn
    from deltalake import DeltaTable

    from api.main import create_app
    from hub.airflow_runner import run_dag
    from hub.simulator import simulate_day
    from hub.storage import delta_rs_location

    settings = get_settings()
    day = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=1)
    started = time.monotonic()

    def step(text: str) -> None:
        console.print(f"[bold cyan][{time.monotonic() - started:6.1f}s][/] {text}")

    step(f"simulating department exports for {day} (seed {seed}) into {settings.sources_dir}")
    for department, path in simulate_day(settings.sources_dir, day, seed=seed, subjects=subjects).items():
        step(f"  {department}: {path.name}, {path.stat().st_size} bytes")
    step("running DAG approval_pipeline through Airflow (land -> bronze -> silver -> GX gate -> gold)")
    state = run_dag(settings, "approval_pipeline", dt.datetime.combine(day, dt.time(), SHANGHAI))
    if state != "success":
        console.print(f"[red]DAG run ended {state}; see the task logs above[/]")
        raise typer.Exit(code=1)
    step("DAG run succeeded")

    def table(layer: str, name: str) -> list[dict[str, Any]]:
        location, options = delta_rs_location(settings, layer, name)
        rows: list[dict[str, Any]] = (
            DeltaTable(location, storage_options=options).to_pyarrow_table().to_pylist()
        )
        return rows

    for rec in sorted(table("quality", "batch_reconciliation"), key=lambda r: str(r["batch_id"])):
        step(
            f"  {rec['batch_id']}: {rec['rows_in']} rows in = {rec['rows_valid']} valid "
            f"+ {rec['rows_quarantined']} quarantined"
        )
    for bad in table("silver", "quarantine")[:3]:
        step(f"  quarantined {bad['_department']} line {bad['_source_line']}: {', '.join(bad['reasons'])}")
    shared = sorted(
        str(p["subject_id"]) for p in table("gold", "subject_profile") if len(p["departments"]) > 1
    )
    step(f"gold subject_profile: {len(shared)} subjects have cases in more than one department")

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host=settings.api_host, port=settings.api_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    url = f"http://{settings.api_host}:{settings.api_port}/v1/subjects/{shared[0]}"
    step(f"API up; GET {url}")
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    console.print_json(json.dumps(response.json(), ensure_ascii=False))
    console.print(f"\nAsk again with:\n  curl -s {url}\n")
    step("demo finished")
    if _interactive():
        console.print("The API stays up until Ctrl-C.")
        with contextlib.suppress(KeyboardInterrupt):
            thread.join()
    server.should_exit = True
    thread.join(timeout=10)
