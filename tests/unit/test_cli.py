import datetime as dt

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.credentials import credential_registry
from hub.grants import grant_registry
from hub.settings import DISTRICT_TIMEZONE, Settings

pytestmark = pytest.mark.unit


def test_ids_check_reports_each_value_and_fails_on_any_invalid() -> None:
    result = CliRunner().invoke(app, ["ids", "check", "11010519491231002X", "440106202302300011"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].split() == ["11010519491231002X", "person", "valid"]
    assert "not a real date" in lines[1]


def test_ids_check_exits_zero_when_all_are_valid() -> None:
    result = CliRunner().invoke(app, ["ids", "check", "91350100M000100Y43", "11010519491231002x"])
    assert result.exit_code == 0
    assert [line.split()[1] for line in result.output.splitlines()] == ["entity", "person"]


def test_lake_commands_name_the_known_tables_for_an_unknown_one() -> None:
    result = CliRunner().invoke(app, ["lake", "restore", "gold.subject_profil", "--version", "3"])
    assert result.exit_code == 2
    assert "unknown table 'gold.subject_profil'" in result.output
    assert "gold.subject_profile" in result.output


def _fields(output: str) -> dict[str, str]:
    return dict(line.split(maxsplit=1) for line in output.splitlines() if line.startswith("client_"))


def test_credentials_create_prints_a_working_secret_once_and_list_never_shows_it(own_home: Settings) -> None:
    created = CliRunner().invoke(
        app, ["credentials", "create", "--department", "food_drug", "--note", "窗口"]
    )
    assert created.exit_code == 0, created.output
    printed = _fields(created.output)
    assert "shown only now" in created.output
    registry = credential_registry(own_home)
    credential = registry.verify(printed["client_id"], printed["client_secret"])
    assert credential is not None
    assert credential.department == "food_drug"

    listed = CliRunner().invoke(app, ["credentials", "list"])
    assert listed.exit_code == 0
    assert listed.output.split()[:2] == [printed["client_id"], "food_drug"]
    assert "active" in listed.output
    assert "窗口" in listed.output
    assert printed["client_secret"] not in listed.output
    assert "argon2" not in listed.output


def test_credentials_revoke_marks_the_client_revoked(own_home: Settings) -> None:
    created = _fields(CliRunner().invoke(app, ["credentials", "create", "--department", "health"]).output)
    revoked = CliRunner().invoke(app, ["credentials", "revoke", created["client_id"]])
    assert revoked.exit_code == 0
    assert f"{created['client_id']} (health) revoked at" in revoked.output
    assert credential_registry(own_home).verify(created["client_id"], created["client_secret"]) is None
    listed = CliRunner().invoke(app, ["credentials", "list"]).output
    assert "revoked" in listed
    assert "1 clients, 0 active" in listed


def test_credentials_refuse_an_unknown_department_and_an_unknown_client(own_home: Settings) -> None:
    unknown_department = CliRunner().invoke(app, ["credentials", "create", "--department", "fire"])
    assert unknown_department.exit_code == 2
    assert "unknown department 'fire'" in unknown_department.output
    assert "market_regulation" in unknown_department.output
    unknown_client = CliRunner().invoke(app, ["credentials", "revoke", "health-0123456789abcdef"])
    assert unknown_client.exit_code == 2
    assert "no client 'health-0123456789abcdef'" in unknown_client.output
    assert credential_registry(own_home).list_credentials() == []


def _grant_id(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith("grant_id")]
    return line.split()[1]


GRANT = ["grants", "create", "--department", "food_drug", "--approved-by", "王主任"]
HEALTH_GRANT = ["--purpose", "supervision", "--basis", "agreement 8"]


def test_grants_create_records_a_grant_the_api_will_apply(own_home: Settings) -> None:
    created = CliRunner().invoke(
        app,
        [
            *GRANT,
            "--purpose",
            "supervision",
            "--basis",
            "区政务办〔2026〕12号",
            "--unmasked",
            "--until",
            "2027-06-30",
        ],
    )
    assert created.exit_code == 0, created.output
    grant = grant_registry(own_home).get(_grant_id(created.output))
    assert grant is not None
    assert (grant.department, grant.purpose, grant.unmasked, grant.valid_until, grant.basis) == (
        "food_drug",
        "supervision",
        True,
        dt.date(2027, 6, 30),
        "区政务办〔2026〕12号",
    )
    assert "personal data unmasked" in created.output
    assert "to 2027-06-30" in created.output


def test_grants_list_and_revoke(own_home: Settings) -> None:
    first = _grant_id(
        CliRunner().invoke(app, [*GRANT, "--purpose", "statistics", "--basis", "agreement 7"]).output
    )
    health = CliRunner().invoke(
        app,
        ["grants", "create", "--department", "health", "--approved-by", "李科长", *HEALTH_GRANT],
    )
    assert health.exit_code == 0, health.output
    revoked = CliRunner().invoke(app, ["grants", "revoke", first])
    assert revoked.exit_code == 0, revoked.output
    assert f"{first} (food_drug) revoked at" in revoked.output

    everything = CliRunner().invoke(app, ["grants", "list"]).output
    assert "2 grants, 1 active" in everything
    food_drug = CliRunner().invoke(app, ["grants", "list", "--department", "food_drug"]).output
    assert food_drug.splitlines()[0].split()[:6] == [
        first,
        "food_drug",
        "statistics",
        "masked",
        f"{dt.datetime.now(DISTRICT_TIMEZONE).date()}..",
        "revoked",
    ]
    assert "agreement 7" in food_drug
    assert "health" not in food_drug
    assert "1 grants, 0 active" in food_drug


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--purpose", "marketing", "--basis", "x"], "unknown purpose 'marketing'"),
        (["--purpose", "statistics", "--basis", " "], "needs its basis"),
        (
            ["--purpose", "statistics", "--basis", "x", "--from", "2027-01-02", "--until", "2027-01-01"],
            "cannot start",
        ),
    ],
)
def test_grants_create_refuses_what_cannot_be_granted(
    own_home: Settings, arguments: list[str], message: str
) -> None:
    refused = CliRunner().invoke(app, [*GRANT, *arguments])
    assert refused.exit_code == 2
    assert message in refused.output
    assert grant_registry(own_home).list_grants() == ()


def test_grants_revoke_an_unknown_grant(own_home: Settings) -> None:
    refused = CliRunner().invoke(app, ["grants", "revoke", "food_drug-statistics-0123456789abcdef"])
    assert refused.exit_code == 2
    assert "no grant 'food_drug-statistics-0123456789abcdef'" in refused.output


def test_audit_ship_moves_the_sealed_journal_to_the_lake_once(own_home: Settings) -> None:
    from hub.audit import AuditJournal, read_access_log
    from tests.unit.test_audit_journal import audit_record

    journal = AuditJournal.for_settings(own_home)
    records = [audit_record(minute=i) for i in range(3)]
    for record in records:
        journal.append(record)
    journal.close()
    journal.append(still_open := audit_record(minute=4))

    shipped = CliRunner().invoke(app, ["audit", "ship"])
    assert shipped.exit_code == 0, shipped.output
    assert "3 records from 1 segments shipped; 1 segments still open" in shipped.output
    again = CliRunner().invoke(app, ["audit", "ship"])
    assert "0 records from 0 segments shipped; 1 segments still open" in again.output
    journal.close()
    assert [r.record_id for r in read_access_log(own_home, records[0].subject_id or "")] == [
        r.record_id for r in reversed([*records, still_open])
    ]


def test_feedback_ship_moves_the_reuse_events_to_their_own_table_once_each(own_home: Settings) -> None:
    from deltalake import DeltaTable

    from hub.audit import ACCESS_LOG, AuditJournal
    from hub.feedback import REUSE_EVENT, REUSE_FEEDBACK
    from hub.storage import delta_rs_location
    from tests.unit.test_feedback_journal import reuse_event

    journal = AuditJournal.for_kind(own_home, REUSE_FEEDBACK)
    event = reuse_event()
    journal.append_all([event, reuse_event(event.event_id, decision="rejected"), reuse_event()])
    journal.close()

    shipped = CliRunner().invoke(app, ["feedback", "ship"])
    assert shipped.exit_code == 0, shipped.output
    assert "2 records from 1 segments shipped; 0 segments still open" in shipped.output
    location, options = delta_rs_location(own_home, *REUSE_EVENT)
    assert DeltaTable(location, storage_options=options).to_pyarrow_table().num_rows == 2
    # The audit's table is another: nothing reached it.
    audit_location, _ = delta_rs_location(own_home, *ACCESS_LOG)
    assert not DeltaTable.is_deltatable(audit_location, storage_options=options)


def test_failures_lists_the_recorded_task_failures_newest_first(own_home: Settings) -> None:
    from hub.task_failures import TaskFailure, record_task_failure

    assert "0 task failures" in CliRunner().invoke(app, ["failures"]).output
    for hour, department, file in [(1, "health", None), (2, "food_drug", "/sources/food_drug/x.jsonl")]:
        failed_at = dt.datetime(2026, 11, 24, hour, tzinfo=dt.UTC)
        error = "Is a directory" if file else "no object matching *.json"
        record_task_failure(
            own_home,
            TaskFailure(
                failed_at, f"ingest_{department}", "pull", "r", 2, department, file, None, "E", error
            ),
        )
    listed = CliRunner().invoke(app, ["failures"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "ingest_food_drug.pull" in lines[0]
    assert "/sources/food_drug/x.jsonl" in lines[0]
    assert "ingest_health.pull" in lines[1]
    assert lines[-1] == "2 task failures"
    only = CliRunner().invoke(app, ["failures", "--department", "health"]).output
    assert only.splitlines()[-1] == "1 task failures"
