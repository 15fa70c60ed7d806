"""The `hub` command: the one command-line entry point of the hub."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from hub.contracts_cli import contracts_app
from hub.identifiers import check_subject_id
from hub.settings import get_settings

if TYPE_CHECKING:
    from hub.audit import JournalKind

app = typer.Typer(help="Approval data-sharing hub.", no_args_is_help=True)
ids_app = typer.Typer(help="Check subject identifiers.", no_args_is_help=True)
app.add_typer(ids_app, name="ids")
app.add_typer(contracts_app, name="contracts")
quarantine_app = typer.Typer(help="Inspect and replay quarantined rows.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
lake_app = typer.Typer(
    help="Look after the lakehouse's tables: history, restore, upkeep.", no_args_is_help=True
)
app.add_typer(lake_app, name="lake")
credentials_app = typer.Typer(
    help="Manage the departments' API client credentials (client id and secret).", no_args_is_help=True
)
app.add_typer(credentials_app, name="credentials")
grants_app = typer.Typer(
    help="Manage grants: which department may read other departments' conditional data, for which purpose.",
    no_args_is_help=True,
)
app.add_typer(grants_app, name="grants")
audit_app = typer.Typer(
    help="The audit trail of requests for subject data: ship the API's journal to the lake.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")
feedback_app = typer.Typer(
    help="The windows' reuse events (accepted or rejected materials on file): ship the API's journal.",
    no_args_is_help=True,
)
app.add_typer(feedback_app, name="feedback")
report_app = typer.Typer(
    help="Reports for analysts from the marts, small cells suppressed.", no_args_is_help=True
)
app.add_typer(report_app, name="report")
sharing_app = typer.Typer(
    help="Delta Sharing of the analyst marts: recipients and the profile files they read with.",
    no_args_is_help=True,
)
app.add_typer(sharing_app, name="sharing")
TableArgument = Annotated[str, typer.Argument(help="layer.name, e.g. gold.subject_profile")]
console = Console(soft_wrap=True)


@app.callback()
def main() -> None:
    """Approval data-sharing hub."""
    from hub.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)


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
    workers: Annotated[int | None, typer.Option(help="Overrides HUB_API_WORKERS.", min=1)] = None,
) -> None:
    """Serve the API (subject profiles from gold) until interrupted."""
    import uvicorn

    from hub.logs import configure_logging

    settings = get_settings()
    workers = workers or settings.api_workers
    # uvicorn's own lines (start, stop, errors) in the hub's format; its access log is off, since the
    # API logs each request itself by route template: a raw path holds the subject id asked for.
    configure_logging(settings.log_format, settings.log_level, also=("uvicorn",))
    if workers > 1 and settings.token_signing_key is None:
        # One key for every process, or a token one issued would be refused by another; it still
        # dies with the server, as a single process's own random key does.
        os.environ["HUB_TOKEN_SIGNING_KEY"] = secrets.token_urlsafe(48)
    uvicorn.run(
        # By name, so that each worker process builds its own app (`create_served_app`).
        "api.main:create_served_app",
        factory=True,
        workers=workers,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    cases_per_day: Annotated[int, typer.Option(help="Cases the district receives on a working day.")] = 150,
) -> None:
    """Simulate five departments, run their ingestion DAGs and the lakehouse build through Airflow,
    serve gold and print a profile."""
    from hub.demo import run_demo

    if not run_demo(get_settings(), console, seed, cases_per_day, stay_up=_interactive()):
        raise typer.Exit(code=1)


@app.command()
def simulate(
    first_day: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"], help="First day to simulate.")],
    days: Annotated[int, typer.Option(min=1, help="How many days.")] = 1,
    seed: Annotated[int, typer.Option(help="Same seed, same district.")] = 7,
    cases_per_day: Annotated[int, typer.Option(min=1, help="Cases received on a working day.")] = 200,
    clean: Annotated[bool, typer.Option(help="No dirty data at all.")] = False,
) -> None:
    """Run the simulated department systems: each hands over its days through its own interface."""
    from hub.simulator import DirtyRates
    from hub.simulator import simulate as run_simulation

    settings = get_settings()
    dirty = DirtyRates.clean() if clean else DirtyRates()
    total = 0
    for sent in run_simulation(
        settings, first_day.date(), days=days, seed=seed, cases_per_day=cases_per_day, dirty=dirty
    ):
        total += sent.records
        faults = ", ".join(f"{k} {v}" for k, v in sorted(sent.faults.items()) if v) or "none"
        console.print(f"{sent.department}\t{sent.day}\t{sent.records} records\tdirty: {faults}")
    console.print(f"{total} records in {settings.sources_dir}")


@app.command("serve-departments")
def serve_departments() -> None:
    """Serve the simulated housing bureau's case API (the REST department) until interrupted."""
    from hub.demo import department_service

    with department_service(get_settings()) as service:
        console.print(f"housing_construction case API at {service.url}/api/v1/cases; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            service.thread.join()


@app.command()
def backfill(
    department: Annotated[str, typer.Argument(help="Department, as named in the registry.")],
    first_day: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"])],
    last_day: Annotated[dt.datetime, typer.Argument(formats=["%Y-%m-%d"])],
) -> None:
    """Run the department's ingestion DAG for each day of a past range, then the triggered build.

    Days already landed are reused, not pulled again, so a backfill never duplicates a record.
    """
    from hub.airflow_runner import run_asset_triggered, run_ingestion

    settings = get_settings()
    failed = 0
    day = first_day.date()
    while day <= last_day.date():
        state = run_ingestion(settings, department, day)
        console.print(f"ingest_{department} {day}: {state}")
        failed += state != "success"
        day += dt.timedelta(days=1)
    for dag_id, state in run_asset_triggered(settings).items():
        console.print(f"{dag_id}: {state}")
        failed += state != "success"
    raise typer.Exit(code=1 if failed else 0)


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


@app.command()
def failures(
    department: Annotated[str | None, typer.Option(help="Only this department's.")] = None,
    limit: Annotated[int, typer.Option(help="How many to print.")] = 20,
) -> None:
    """Airflow tasks that failed for good (retries spent), newest first: when, which DAG and task,
    the department, the file the error names, and the error."""
    from deltalake.exceptions import TableNotFoundError

    from hub.storage import read_table_rows
    from hub.task_failures import TASK_FAILURES

    try:
        rows = read_table_rows(get_settings(), *TASK_FAILURES)
    except TableNotFoundError:
        rows = []
    rows = [r for r in rows if department is None or r["department"] == department]
    rows.sort(key=lambda r: r["failed_at"], reverse=True)
    for r in rows[:limit]:
        console.print(
            f"{r['failed_at'].isoformat()}\t{r['dag_id']}.{r['task_id']}\ttry {r['try_number']}\t"
            f"{r['department'] or '-'}\t{r['file'] or '-'}\t{r['error_type']}: {r['error']}"
        )
    console.print(f"{len(rows)} task failures")


def _lake_uri(table: str) -> str:
    from jobs.pipeline import lake_table_uri

    try:
        return lake_table_uri(get_settings(), table)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error


@lake_app.command("history")
def lake_history(
    table: TableArgument, limit: Annotated[int, typer.Option(help="How many versions.")] = 20
) -> None:
    """A table's latest versions: when, and by which operation."""
    from jobs.maintenance import history
    from jobs.spark import get_spark

    uri = _lake_uri(table)
    for entry in history(get_spark(get_settings()), uri, limit):
        console.print(f"{entry['version']:>5}  {entry['timestamp']}  {entry['operation']}")


@lake_app.command("restore")
def lake_restore(
    table: TableArgument, version: Annotated[int, typer.Option(min=0, help="The version to bring back.")]
) -> None:
    """Make an earlier version the table's current state again (as a new version; history is kept).

    Run it while no build runs: a table has one writer at a time.
    """
    from jobs.maintenance import restore
    from jobs.spark import get_spark

    uri = _lake_uri(table)  # an unknown table is refused before a JVM starts
    metrics = restore(get_spark(get_settings()), uri, version)
    console.print(f"{table} restored to version {version}: {metrics}")


@lake_app.command("reload-bronze")
def lake_reload_bronze(
    departments: Annotated[
        list[str] | None, typer.Argument(help="Departments, as named in the registry (default: all).")
    ] = None,
) -> None:
    """Load every landed batch into bronze again, one write per department (each batch replaced,
    never duplicated): to rebuild a lakehouse from the landing zone. The next build conforms the
    batches silver has not reconciled."""
    from jobs.pipeline import reload_bronze

    for department, rows in reload_bronze(get_settings(), departments).items():
        console.print(f"{department}: {rows} records in bronze")


@lake_app.command("maintain")
def lake_maintain() -> None:
    """Upkeep of every table now (the build does it after each run): retention, compaction, vacuum."""
    from jobs.pipeline import maintain_lakehouse

    for upkeep in maintain_lakehouse(get_settings()):
        console.print(
            f"{upkeep['table']}: {upkeep['files_before']} -> {upkeep['files_after']} files"
            + (", vacuumed" if upkeep["vacuumed"] else "")
        )


@credentials_app.command("create")
def credentials_create(
    department: Annotated[str, typer.Option(help="Department, as named in the registry.")],
    note: Annotated[str, typer.Option(help="What the client is for, e.g. the window system using it.")] = "",
) -> None:
    """Create a client for a department and print its id and secret. The secret is shown this once."""
    from hub.credentials import UnknownDepartmentError, credential_registry

    try:
        created = credential_registry(get_settings()).create(department, note)
    except UnknownDepartmentError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    console.print(f"client_id\t{created.client_id}")
    console.print(f"client_secret\t{created.secret}")
    console.print(
        "The secret is shown only now: the hub keeps its hash, not the secret. Hand both to the "
        f"{department} system that calls the API; it exchanges them for a token at POST /v1/token."
    )


@credentials_app.command("revoke")
def credentials_revoke(client_id: Annotated[str, typer.Argument(help="The client id to revoke.")]) -> None:
    """Revoke a client: it gets no new token, and its tokens stop working within seconds."""
    from hub.credentials import UnknownClientError, credential_registry

    try:
        revoked = credential_registry(get_settings()).revoke(client_id)
    except UnknownClientError as error:
        console.print(f"[red]{error.args[0]}[/red]")
        raise typer.Exit(code=2) from error
    assert revoked.revoked_at is not None
    console.print(f"{revoked.client_id} ({revoked.department}) revoked at {revoked.revoked_at.isoformat()}")


@credentials_app.command("list")
def credentials_list() -> None:
    """Every client, revoked ones included: id, department, created, status, note. Never a secret."""
    from hub.credentials import credential_registry

    credentials = credential_registry(get_settings()).list_credentials()
    for c in credentials:
        status = f"revoked {c.revoked_at.isoformat()}" if c.revoked_at else "active"
        console.print(f"{c.client_id}\t{c.department}\t{c.created_at.isoformat()}\t{status}\t{c.note}")
    console.print(f"{len(credentials)} clients, {sum(c.active for c in credentials)} active")


@grants_app.command("create")
def grants_create(
    *,  # typer passes every option by name
    department: Annotated[
        str, typer.Option(help="The department it opens data to, as named in the registry.")
    ],
    purpose: Annotated[
        str, typer.Option(help="approval_handling, supervision or statistics (code list purpose).")
    ],
    basis: Annotated[
        str, typer.Option(help="The agreement or legal provision it rests on, e.g. a document number.")
    ],
    approved_by: Annotated[str, typer.Option(help="Who approved it.")],
    unmasked: Annotated[bool, typer.Option(help="Let personal data through unmasked.")] = False,
    valid_from: Annotated[
        dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (default today).")
    ] = None,
    until: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day, inclusive (default: until revoked)."),
    ] = None,
) -> None:
    """Grant a department another department's conditional fields for one purpose."""
    from hub.credentials import UnknownDepartmentError
    from hub.grants import UnknownPurposeError, grant_registry

    try:
        grant = grant_registry(get_settings()).create(
            department,
            purpose,
            approved_by=approved_by,
            basis=basis,
            unmasked=unmasked,
            valid_from=valid_from.date() if valid_from else None,
            valid_until=until.date() if until else None,
        )
    except (UnknownDepartmentError, UnknownPurposeError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    console.print(f"grant_id\t{grant.grant_id}")
    console.print(
        f"{grant.department} may read conditional fields for {grant.purpose}, personal data "
        f"{'unmasked' if grant.unmasked else 'masked'}, from {grant.valid_from} "
        f"{f'to {grant.valid_until}' if grant.valid_until else 'until revoked'}."
    )


@grants_app.command("revoke")
def grants_revoke(grant_id: Annotated[str, typer.Argument(help="The grant id to revoke.")]) -> None:
    """Revoke a grant: it opens nothing from now on (the API applies it within seconds)."""
    from hub.grants import UnknownGrantError, grant_registry

    try:
        revoked = grant_registry(get_settings()).revoke(grant_id)
    except UnknownGrantError as error:
        console.print(f"[red]{error.args[0]}[/red]")
        raise typer.Exit(code=2) from error
    assert revoked.revoked_at is not None
    console.print(f"{revoked.grant_id} ({revoked.department}) revoked at {revoked.revoked_at.isoformat()}")


@grants_app.command("list")
def grants_list(
    department: Annotated[str | None, typer.Option(help="Only this department's grants.")] = None,
) -> None:
    """Every grant, expired and revoked ones too: id, department, purpose, masking, days, status,
    approver, basis."""
    from hub.credentials import utc_now
    from hub.grants import grant_registry

    now = utc_now()
    grants = grant_registry(get_settings()).list_grants(department)
    for g in grants:
        days = f"{g.valid_from}..{g.valid_until or ''}"
        masking = "unmasked" if g.unmasked else "masked"
        console.print(
            f"{g.grant_id}\t{g.department}\t{g.purpose}\t{masking}\t{days}\t{g.status(now)}\t"
            f"{g.approved_by}\t{g.basis}"
        )
    console.print(f"{len(grants)} grants, {sum(g.active(now) for g in grants)} active")


@audit_app.command("ship")
def audit_ship() -> None:
    """Append the API's sealed audit journal segments, and those a stopped API left open, to the
    lake's audit/access_log table, each once, and remove them from the journal."""
    from hub.audit import AUDIT

    _ship_journal(AUDIT)


@feedback_app.command("ship")
def feedback_ship() -> None:
    """Add the API's sealed reuse-event journal segments, and those a stopped API left open, to the
    lake's feedback/reuse_event table (an event sent twice lands once), and remove them."""
    from hub.feedback import REUSE_FEEDBACK

    _ship_journal(REUSE_FEEDBACK)


def _ship_journal(kind: JournalKind) -> None:
    from hub.audit import ship

    settings = get_settings()
    report = ship(settings, kind)
    console.print(
        f"{report.rows} records from {len(report.shipped)} segments shipped"
        + (f", {len(report.already_shipped)} shipped before" if report.already_shipped else "")
        + (f", {len(report.sealed_orphans)} left open by a stopped API" if report.sealed_orphans else "")
        + f"; {len(report.live)} segments still open"
    )
    if report.unreadable_lines:
        console.print(
            f"[red]{report.unreadable_lines} unreadable lines: their segments are kept in "
            f"{kind.directory(settings) / 'rejected'}[/red]"
        )


def _month(value: str) -> str:
    from hub.analyst_figures import MONTH

    if not MONTH.match(value):
        raise typer.BadParameter(f"expected YYYY-MM, e.g. 2026-03; got {value!r}")
    return value


@report_app.command("monthly")
def report_monthly(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM.", callback=_month)],
    out: Annotated[
        Path | None, typer.Option(help="Folder to write into; default: reports/ in the hub's home.")
    ] = None,
) -> None:
    """Write the month's supervision and throughput report (report-YYYY-MM.html, with its charts)
    and the tables behind it (one CSV each)."""
    from hub.analyst_figures import MartsNotBuiltError
    from hub.monthly_report import EmptyMonthError, monthly_report

    try:
        report = monthly_report(get_settings(), month, out)
    except (MartsNotBuiltError, EmptyMonthError, FileNotFoundError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=1) from error
    console.print(f"report: {report.html}")
    for path in report.csvs:
        console.print(f"table: {path}")


@sharing_app.command("add-recipient")
def sharing_add_recipient(
    name: Annotated[str, typer.Argument(help="Who reads the share, e.g. statistics-bureau.")],
    share: Annotated[str, typer.Option(help="The one share its token opens (contracts/sharing.yaml).")],
    days: Annotated[int, typer.Option(help="How many days the token works.")] = 30,
    endpoint: Annotated[
        str | None,
        typer.Option(help="The sharing server's URL as the recipient reaches it; default the API's."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where to write the profile file; default NAME.share here.")
    ] = None,
) -> None:
    """Add a recipient of one share and write its Delta Sharing profile file (the token is in the
    file only: the hub keeps its hash). Hand the file to the recipient."""
    from hub.sharing import RecipientExistsError, UnknownShareError, recipient_registry, write_profile

    settings = get_settings()
    try:
        added = recipient_registry(settings).add(name, share, days)
    except (RecipientExistsError, UnknownShareError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from error
    url = endpoint or f"http://{settings.api_host}:{settings.api_port}/delta-sharing"
    path = output or Path(f"{name}.share")
    write_profile(path, added.profile(url))
    console.print(
        f"{name} may read share {share} until {added.recipient.expires_at.isoformat()}; "
        f"profile written to {path}"
    )


@sharing_app.command("revoke-recipient")
def sharing_revoke_recipient(name: Annotated[str, typer.Argument(help="The recipient to revoke.")]) -> None:
    """Revoke a recipient: its token stops working at the next request."""
    from hub.sharing import recipient_registry

    try:
        revoked = recipient_registry(get_settings()).revoke(name)
    except LookupError as error:
        console.print(f"[red]{error.args[0]}[/red]")
        raise typer.Exit(code=2) from error
    assert revoked.revoked_at is not None
    console.print(f"{revoked.name} ({revoked.share}) revoked at {revoked.revoked_at.isoformat()}")


@sharing_app.command("list")
def sharing_list() -> None:
    """Every recipient: name, share, created, expiry, status. Never a token."""
    from hub.sharing import recipient_registry

    for r in recipient_registry(get_settings()).list_recipients():
        status = f"revoked {r.revoked_at.isoformat()}" if r.revoked_at else "active"
        console.print(
            f"{r.name}\t{r.share}\t{r.created_at.isoformat()}\t{r.expires_at.isoformat()}\t{status}"
        )
