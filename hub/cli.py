"""The `hub` command: the one command-line entry point of the hub."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from hub.contracts_cli import contracts_app
from hub.identifiers import check_subject_id
from hub.settings import get_settings

app = typer.Typer(help="Approval data-sharing hub.", no_args_is_help=True)
ids_app = typer.Typer(help="Check subject identifiers.", no_args_is_help=True)
app.add_typer(ids_app, name="ids")
app.add_typer(contracts_app, name="contracts")
quarantine_app = typer.Typer(help="Inspect and replay quarantined rows.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
console = Console(soft_wrap=True)


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
    from hub.demo import run_demo

    if not run_demo(get_settings(), console, seed, subjects, stay_up=_interactive()):
        raise typer.Exit(code=1)


@quarantine_app.command("replay")
def quarantine_replay() -> None:
    """Re-check quarantined rows with the current mappings and contracts; release those that pass."""
    from jobs.pipeline import replay_quarantine

    totals = replay_quarantine(get_settings())
    console.print(
        f"replayed {totals['replayed']} rows: {totals['released']} released to silver, "
        f"{totals['still_quarantined']} still quarantined"
    )


@quarantine_app.command("show")
def quarantine_show(limit: Annotated[int, typer.Option(help="How many rows to print.")] = 20) -> None:
    """Print quarantined rows: where each came from and every rule it broke."""
    from hub.storage import read_table_rows

    rows = read_table_rows(get_settings(), "silver", "quarantine")
    for row in rows[:limit]:
        console.print(
            f"{row['_batch_id']} {row['_source_file']}:{row['_source_line']}  {'; '.join(row['reasons'])}"
        )
    console.print(f"{len(rows)} rows in quarantine")
