"""The real thing: five department systems, their ingestion DAGs and the asset-triggered lakehouse
build run by Airflow, then the API queried over HTTP.

One scenario, in the order an operator lives it: a department is down on the first day and is
caught up the next; an earlier day is backfilled; runs are re-run; tasks fail after part of their
work and are retried; nothing is lost or doubled.
"""

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from api.main import create_app
from hub.airflow_runner import queued_by_assets, run_asset_triggered
from hub.airflow_runner import run_ingestion as _run
from hub.analyst_marts import load_mart
from hub.serving import BackgroundServer
from hub.settings import Settings, get_settings
from hub.simulator import DirtyRates, SentDay, simulate
from hub.simulator.service import create_department_api
from hub.simulator.world import verification_code
from hub.storage import read_table_rows, table_uri
from hub.verification_codes import case_code_hmac
from jobs.departments import department_names
from jobs.pipeline import GOLD_TABLES, lake_tables
from tests.api_client import bearer_headers

pytestmark = pytest.mark.integration

SEED = 4
FIRST, SECOND, THIRD = dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)
DIRTY = DirtyRates(
    bad_check_char=0.03,
    missing_required=0.02,
    unknown_code=0.02,
    duplicate=0.03,
    out_of_order=0.05,
    late=0.03,
)


def _bronze(spark, settings: Settings) -> list[tuple[object, ...]]:
    rows = spark.read.format("delta").load(table_uri(settings, "bronze", "case_record")).collect()
    return sorted(tuple(r) for r in rows)


@pytest.fixture(scope="module")
def sent(airflow_configured: Settings) -> list[SentDay]:
    return simulate(airflow_configured, FIRST, days=3, seed=SEED, cases_per_day=70, dirty=DIRTY)


@pytest.fixture
def housing_api(airflow_configured: Settings, monkeypatch) -> Iterator[BackgroundServer]:
    server = BackgroundServer(
        create_department_api(airflow_configured.sources_dir / "housing_construction" / "system.db")
    )
    with server:
        monkeypatch.setenv(
            "HUB_SOURCE_URLS", json.dumps({"housing_construction": f"{server.url}/api/v1/cases"})
        )
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


def test_five_departments_through_airflow(airflow_configured: Settings, sent, spark, monkeypatch) -> None:
    settings = airflow_configured
    departments = department_names()
    assert len(departments) == 5

    # Day two: the housing bureau's API is down (nothing listens at its address).
    monkeypatch.setenv(
        "HUB_SOURCE_URLS", json.dumps({"housing_construction": "http://127.0.0.1:9/api/v1/cases"})
    )
    get_settings.cache_clear()
    states = {d: _run(settings, d, SECOND) for d in departments}
    assert states == {d: ("failed" if d == "housing_construction" else "success") for d in departments}
    # Only the departments that loaded queue the lakehouse build.
    assert queued_by_assets() == ["build_lakehouse"]


def test_catch_up_backfill_and_reruns(
    airflow_configured: Settings, sent, spark, housing_api, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = airflow_configured
    departments = department_names()
    # Two tasks fail once right after a commit, as a lost connection or a killed worker would make
    # them, and Airflow retries them: the first bronze load of day three, and the build's silver.
    # Every count below must hold all the same.
    monkeypatch.setenv("HUB_FAULT_ONCE", "bronze/case_record,silver/case")
    get_settings.cache_clear()
    # Day three, the API is back: its run pulls from the watermark, so day two is caught up.
    assert {d: _run(settings, d, THIRD) for d in departments} == dict.fromkeys(departments, "success")
    # Backfill the first day for everyone.
    assert {d: _run(settings, d, FIRST) for d in departments} == dict.fromkeys(departments, "success")

    bronze_before = _bronze(spark, settings)
    # Re-running runs changes nothing: a plain re-run, and a day another batch already covered.
    assert _run(settings, "market_regulation", SECOND) == "success"
    assert _run(settings, "housing_construction", SECOND) == "success"
    assert _bronze(spark, settings) == bronze_before

    bronze = spark.read.format("delta").load(table_uri(settings, "bronze", "case_record"))
    batches = {tuple(r) for r in bronze.select("_department", "_batch_id").distinct().collect()}
    assert ("housing_construction", "housing_construction-20261124") not in batches
    assert ("housing_construction", "housing_construction-20261125") in batches
    assert len(batches) == 15 - 1

    # Every record each department sent over the three days is in bronze once.
    per_department = Counter(
        {r["_department"]: r["count"] for r in bronze.groupBy("_department").count().collect()}
    )
    sent_per_department = Counter({d: sum(s.records for s in sent if s.department == d) for d in departments})
    assert per_department == sent_per_department

    # The bronze assets triggered the lakehouse build, which conforms every pending batch.
    assert run_asset_triggered(settings) == {"build_lakehouse": "success"}
    fired = sorted(p.name for p in (settings.home / "faults").iterdir())
    assert fired == ["bronze__case_record", "silver__case"], "a fault was not injected"
    reconciliation = read_table_rows(settings, "quality", "batch_reconciliation")
    for r in reconciliation:
        assert r["rows_in"] == r["rows_valid"] + r["rows_quarantined"], r
    # Once each: a retried task did not reconcile a batch again.
    assert Counter((r["batch_id"], r["contract"]) for r in reconciliation).most_common(1)[0][1] == 1
    rows_in = Counter[str]()
    for r in reconciliation:
        rows_in[r["contract"]] += r["rows_in"]
    assert rows_in["case"] == len(bronze_before)
    # Every material the departments sent inside their case records is counted too.
    assert rows_in["material"] == sum(s.materials for s in sent) > 0
    assert rows_in["case_event"] == sum(s.events for s in sent) > 0
    assert rows_in["certificate"] == sum(s.certificates for s in sent) > 0
    assert rows_in["evaluation"] == sum(s.evaluations for s in sent) > 0
    assert rows_in["courier_delivery"] == sum(s.consignments for s in sent) > 0

    _assert_each_injected_fault_caught(settings, sent)

    profiles = read_table_rows(settings, "gold", "subject_profile")
    shared = [p for p in profiles if len(p["departments"]) >= 3]
    assert shared, "no subject has cases in three departments"
    with BackgroundServer(create_app(settings)) as served:
        subject = shared[0]
        auth = bearer_headers(settings, served.url)
        body = httpx.get(
            f"{served.url}/v1/subjects/{subject['subject_id']}",
            params={"purpose": "approval_handling"},
            headers=auth,
        ).json()
        assert set(body["departments"]) == set(subject["departments"])
        assert httpx.get(f"{served.url}/health").json()["subjects"] == len(profiles)
        # The analysts' dashboard reads the built marts, small cells suppressed.
        figures = httpx.get(f"{served.url}/dashboard/data", timeout=30).json()
        shown = [r for r in load_mart(settings, "throughput_monthly").to_pylist() if not r["suppressed"]]
        assert sum(c["received"] for c in figures["channel_mix"]) == sum(r["received"] for r in shown)


def _assert_each_injected_fault_caught(settings: Settings, sent: list[SentDay]) -> None:
    """Value faults quarantined with their rule; duplicates and out-of-order versions merged."""
    injected = Counter[str]()
    for s in sent:
        injected.update(s.faults)
    fired = Counter[str]()
    for row in read_table_rows(settings, "silver", "quarantine"):
        fired.update(row["rule_ids"])
    assert fired["case.subject_id.valid_id"] >= injected["bad_check_char"] > 0
    assert fired["case.subject_name.required"] >= injected["missing_required"] > 0
    assert fired["case.channel.code_list"] >= injected["unknown_code"] > 0
    cases = read_table_rows(settings, "silver", "case")
    keys = Counter((c["department"], c["case_id"]) for c in cases)
    assert keys.most_common(1)[0][1] == 1, "a case is in silver twice"
    assert min(injected[k] for k in ("duplicate", "out_of_order", "late")) > 0


def test_gold_answers_on_what_the_departments_sent(airflow_configured: Settings, spark) -> None:
    """Runs after the lakehouse build above."""
    settings = airflow_configured
    cases = read_table_rows(settings, "silver", "case")
    profiles = read_table_rows(settings, "gold", "subject_profile")
    daily = read_table_rows(settings, "gold", "throughput_daily")
    assert sum(r["received"] for r in daily) == len(cases)
    assert sum(r["decided"] for r in daily) == sum(
        c["status"] in ("completed", "not_permitted") for c in cases
    )
    registry = read_table_rows(settings, "gold", "material_registry")
    assert any(r["submissions"] > 1 for r in registry), "no subject handed in the same file twice"
    assert sum(len(p["materials_on_file"]) for p in profiles) == len(registry)
    alerts = read_table_rows(settings, "gold", "supervision_alert")
    assert sum(c["status"] == "not_accepted" for c in cases) == sum(
        a["rule"] == "not_accepted" for a in alerts
    )
    # A permit is an alert when a material its item requires was missing or turned down at review.
    required: dict[str, set[str]] = {}
    for r in read_table_rows(settings, "silver", "item_requirement"):
        if r["mandatory"]:
            required.setdefault(r["item_code"], set()).add(r["material_type"])
    handed_in: dict[tuple[str, str], dict[str, bool]] = {}
    for m in read_table_rows(settings, "silver", "material"):
        kinds = handed_in.setdefault((m["department"], m["case_id"]), {})
        kinds[m["material_type"]] = kinds.get(m["material_type"], False) or bool(m["accepted"])
    expected = Counter[str]()
    for c in cases:
        if c["status"] == "completed":
            kinds = handed_in.get((c["department"], c["case_id"]), {})
            needed = required.get(c["item_code"], set())
            expected["materials_incomplete"] += any(t not in kinds for t in needed)
            expected["insufficient_basis"] += any(kinds.get(t) is False for t in needed)
    raised = Counter(a["rule"] for a in alerts)
    assert expected["materials_incomplete"] > 0
    assert (raised["materials_incomplete"], raised["insufficient_basis"]) == (
        expected["materials_incomplete"],
        expected["insufficient_basis"],
    )
    # Each department's view of a subject is kept; the profile links representatives both ways and
    # flags the attributes departments disagree on (some applicants left an old phone number).
    views = read_table_rows(settings, "silver", "subject")
    by_id = {p["subject_id"]: p for p in profiles}
    # Only market regulation and food and drug report applicants' details; an applicant whose only
    # case is quarantined still has a profile from them.
    assert {v["subject_id"] for v in views} < set(by_id)
    represented: dict[str, set[str]] = {}
    phones: dict[str, set[str]] = {}
    for view in views:
        if view["legal_representative_id"]:
            represented.setdefault(view["legal_representative_id"], set()).add(view["subject_id"])
            assert by_id[view["subject_id"]]["legal_representative_id"] == view["legal_representative_id"]
        if view["mobile_phone"]:
            phones.setdefault(view["subject_id"], set()).add(view["mobile_phone"])
    assert sum(p["subject_type"] == "entity" and bool(p["legal_representative_id"]) for p in profiles) > 0
    for profile in profiles:
        assert set(profile["represented_entities"]) == represented.get(profile["subject_id"], set())
    disagreeing = {subject for subject, numbers in phones.items() if len(numbers) > 1}
    assert disagreeing == {p["subject_id"] for p in profiles if "mobile_phone" in p["conflicts"]}
    assert disagreeing, "no applicant's departments disagreed on a phone number"
    # Every gold table reads the same through delta-rs (the API's reader) as through Spark.
    for table in GOLD_TABLES:
        through_spark = spark.read.format("delta").load(table_uri(settings, "gold", table))
        through_delta_rs = read_table_rows(settings, "gold", table)
        assert len(through_delta_rs) == through_spark.count() > 0, table
        assert list(through_delta_rs[0]) == through_spark.columns, table
    # The build looked after its tables last: every one keeps the audit window's history.
    for layer, name in lake_tables():
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{table_uri(settings, layer, name)}`").collect()[0]
        assert detail["properties"]["delta.logRetentionDuration"] == "interval 90 days", (layer, name)


def test_each_cases_code_reached_silver_and_gold_as_its_hmac_only(airflow_configured: Settings) -> None:
    """Runs after the lakehouse build above: whatever field and shape each department sent the
    code in, silver holds the HMAC of the code the simulator printed, and gold's progress table
    holds every case."""
    settings = airflow_configured
    cases = read_table_rows(settings, "silver", "case")
    key = settings.case_code_key.get_secret_value().encode()
    assert all(
        c["verification_code_hmac"] == case_code_hmac(key, verification_code(SEED, c["case_id"]))
        for c in cases
    )
    assert len({c["department"] for c in cases}) == len(department_names())
    assert len(read_table_rows(settings, "gold", "case_progress")) == len(cases)


def test_data_docs_link_every_table_the_last_gate_checked(airflow_configured: Settings) -> None:
    """Runs after the lakehouse build above: the index links each table of the last gate run, not
    only the last one gated."""
    gates = read_table_rows(airflow_configured, "quality", "gate_results")
    last_run = [g["suite"] for g in gates if g["validated_at"] == max(g["validated_at"] for g in gates)]
    index = (airflow_configured.gx_docs_dir / "index.html").read_text()
    assert len(last_run) > 1
    # GX files a suite's results under its name with each dot a folder ("case-2.1.0" -> case-2/1/0).
    assert [suite for suite in last_run if f"validations/{suite.replace('.', '/')}/" not in index] == []
