"""`GET /v1/cases/{case_id}/progress` over real HTTP, on gold/case_progress built by Spark for the
test from cases whose codes were hashed as silver hashes them: the right code gives the timeline
and nothing else, an unknown case and a wrong code the same 404, repeated failures 429, and what
the API reads with delta-rs is what Spark wrote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from deltalake import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from api.case_progress import CASE_FAILURES_ALLOWED, CLIENT_FAILURES_ALLOWED, FAILURE_WINDOW_SECONDS
from api.main import create_app
from hub.audit import journal_records
from hub.serving import BackgroundServer
from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.storage import arrow_batches, delta_rs_location, table_uri
from jobs.case_progress import HMAC_SHA256, case_progress, keyed_hash
from jobs.gold import write_gold
from tests.api_client import bearer_headers, problem

pytestmark = pytest.mark.integration

HEADER = "X-Verification-Code"
CODES = {"SYJ202611020000001": "K7MQ3Z9P", "SYJ202611020000002": "A2B3C4D5", "SYJ202611020000003": "Q9W8E7R6"}
CASE, OTHER_CASE, LOCKED_CASE = CODES


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=DISTRICT_TIMEZONE)


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return hub_settings.model_copy(update={"home": Path(tmp_path_factory.mktemp("case-progress-home"))})


@pytest.fixture(scope="module")
def built(settings: Settings, spark: SparkSession) -> str:
    """gold/case_progress from hand-made silver rows, the codes hashed by silver's expression."""
    received = _t("2026-11-02 09:00")
    cases = spark.createDataFrame(
        [
            (case_id, "food_drug", "11010519491231002X", "陈伟", "SYJ-0202-01", "食品摊贩登记", "completed",
             received, dt.date(2026, 11, 5), code.lower())
            for case_id, code in CODES.items()
        ],
        "case_id string, department string, subject_id string, subject_name string, item_code string, "
        "item_name string, status string, received_at timestamp, promised_deadline date, code string",
    ).withColumn(
        "verification_code_hmac",
        keyed_hash(F.col("code"), HMAC_SHA256, settings.case_code_key.get_secret_value().encode()),
    )  # fmt: skip
    events = spark.createDataFrame(
        [
            (f"{case_id}-{n}", "food_drug", case_id, kind, at, "window_clerk", "WI007")
            for case_id in CODES
            for n, (kind, at) in enumerate(
                [
                    ("received", received),
                    ("accepted", _t("2026-11-02 09:20")),
                    ("decided_permitted", _t("2026-11-03 15:00")),
                ]
            )
        ],
        "event_id string, department string, case_id string, event_type string, event_at timestamp, "
        "actor_role string, actor_id string",
    )
    uri = table_uri(settings, "gold", "case_progress")
    write_gold(case_progress(cases, events), uri)
    return uri


@pytest.fixture(scope="module")
def served(settings: Settings, built: str) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(settings)) as running:
        yield running


def _progress(
    served: BackgroundServer, auth: dict[str, str], case_id: str, code: str | None
) -> httpx.Response:
    headers = auth | ({} if code is None else {HEADER: code})
    return httpx.get(f"{served.url}/v1/cases/{case_id}/progress", headers=headers, timeout=30)


def test_the_right_code_gives_the_status_timeline_and_nothing_else(
    served: BackgroundServer, settings: Settings
) -> None:
    auth = bearer_headers(settings, served.url, "health")  # another department's window may ask
    for typed in (CODES[CASE], "k7mq-3z9p"):
        response = _progress(served, auth, CASE, typed)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "case_id": CASE,
            "department": "food_drug",
            "item_code": "SYJ-0202-01",
            "item_name": "食品摊贩登记",
            "received_at": "2026-11-02T09:00:00+08:00",
            "status": "completed",
            "promised_deadline": "2026-11-05",
            "timeline": [
                {"event_type": "received", "at": "2026-11-02T09:00:00+08:00"},
                {"event_type": "accepted", "at": "2026-11-02T09:20:00+08:00"},
                {"event_type": "decided_permitted", "at": "2026-11-03T15:00:00+08:00"},
            ],
            "gold_version": 0,
        }
    records = {r.request_id: r for r in journal_records(settings.audit_journal)}
    record = records[response.headers["X-Request-ID"]]
    assert (record.endpoint, record.outcome, record.status, record.department) == (
        "case_progress",
        "shown",
        200,
        "health",
    )
    assert record.subject_id is None
    assert "timeline" in record.fields_returned


def test_a_wrong_code_and_an_unknown_case_get_the_same_404(
    served: BackgroundServer, settings: Settings
) -> None:
    auth = bearer_headers(settings, served.url)
    wrong_code = problem(_progress(served, auth, OTHER_CASE, CODES[CASE]), 404)
    unknown_case = problem(_progress(served, auth, "SYJ209901010000009", CODES[OTHER_CASE]), 404)
    # Only the path each asked for differs.
    assert wrong_code.pop("instance") == f"/v1/cases/{OTHER_CASE}/progress"
    assert unknown_case.pop("instance") == "/v1/cases/SYJ209901010000009/progress"
    assert wrong_code == unknown_case
    assert CODES[CASE] not in str(wrong_code)


def test_repeated_failures_for_a_case_are_refused_with_429_even_with_the_right_code(
    served: BackgroundServer, settings: Settings
) -> None:
    guesser = bearer_headers(settings, served.url)
    for n in range(CASE_FAILURES_ALLOWED):
        problem(_progress(served, guesser, LOCKED_CASE, f"WRONG{n:03d}"), 404)
    # Whoever asks next, with the right code or not, until the first failure ages out.
    applicant = bearer_headers(settings, served.url)
    refused = _progress(served, applicant, LOCKED_CASE, CODES[LOCKED_CASE])
    body = problem(refused, 429)
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= FAILURE_WINDOW_SECONDS
    assert "too many failed" in body["detail"]
    # Other cases are still answered, to the guesser too.
    assert _progress(served, guesser, CASE, CODES[CASE]).status_code == 200
    records = {r.request_id: r for r in journal_records(settings.audit_journal)}
    assert records[refused.headers["X-Request-ID"]].outcome == "rate_limited"


def test_repeated_failures_from_a_client_are_refused_with_429_whatever_it_asks(
    served: BackgroundServer, settings: Settings
) -> None:
    guesser = bearer_headers(settings, served.url)
    for n in range(CLIENT_FAILURES_ALLOWED):
        problem(_progress(served, guesser, f"SYJ20990101{n:07d}", "K7MQ3Z9P"), 404)
    refused = _progress(served, guesser, CASE, CODES[CASE])
    problem(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    # Another client is not held back by this one.
    assert _progress(served, bearer_headers(settings, served.url), CASE, CODES[CASE]).status_code == 200


@pytest.mark.parametrize(
    ("code", "reason"),
    [(None, "X-Verification-Code: Field required"), ("ab", "X-Verification-Code"), ("K7MQ3Z9P;", "pattern")],
    ids=["missing", "too short", "not a code"],
)
def test_a_missing_or_malformed_code_is_refused_with_the_reason(
    served: BackgroundServer, settings: Settings, code: str | None, reason: str
) -> None:
    body = problem(_progress(served, bearer_headers(settings, served.url), CASE, code), 422)
    assert reason in body["detail"]


def test_no_token_gets_401_and_nothing_else(served: BackgroundServer) -> None:
    problem(_progress(served, {}, CASE, CODES[CASE]), 401)


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    def aware(value: dt.datetime) -> dt.datetime:
        # PySpark hands timestamps back naive in the process's local time; delta-rs in UTC.
        return value.astimezone(dt.UTC)

    return row | {
        "received_at": aware(row["received_at"]),
        "timeline": [s | {"at": aware(s["at"])} for s in row["timeline"]],
    }


def test_delta_rs_reads_what_spark_wrote(settings: Settings, spark: SparkSession, built: str) -> None:
    location, options = delta_rs_location(settings, "gold", "case_progress")
    by_delta_rs = [
        _comparable(r)
        for r in arrow_batches(DeltaTable(location, storage_options=options)).read_all().to_pylist()
    ]
    by_spark = [
        _comparable(r.asDict(recursive=True)) for r in spark.read.format("delta").load(built).collect()
    ]
    assert sorted(by_delta_rs, key=lambda r: r["case_id"]) == sorted(by_spark, key=lambda r: r["case_id"])
    assert len(by_spark) == len(CODES)
    # The codes are nowhere in gold, only their HMACs.
    assert not any(code in str(row) for row in by_spark for code in CODES.values())
