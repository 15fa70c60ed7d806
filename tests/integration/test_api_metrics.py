"""`/metrics` over real HTTP, as Prometheus scrapes it: requests by department, route template and
status, their latency, and the audit records that could not be written (the journal's directory
replaced by a file, as a full or unmounted disk would fail it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr

from api.deps import get_profile_store
from api.main import create_app
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers, problem
from tests.catalogue_rows import CONSTRUCTION_PERMIT, write_catalogue
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import ENTITY, OTHER, OWNER, PERSON

pytestmark = pytest.mark.integration

SUBJECT_ROUTE = "/v1/subjects/{subject_id}"
PURPOSE = {"purpose": "approval_handling"}


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hub_settings.model_copy(update={"home": Path(tmp_path_factory.mktemp("metrics-home"))})
    write_catalogue(settings)
    return settings


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    return app


@pytest.fixture(scope="module")
def served(app: FastAPI) -> Iterator[BackgroundServer]:
    with BackgroundServer(app) as running:
        yield running


def _scrape(served: BackgroundServer, headers: dict[str, str] | None = None) -> list[Sample]:
    response = httpx.get(f"{served.url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_requests_are_counted_by_department_route_and_status_without_a_subject_id(
    served: BackgroundServer, settings: Settings
) -> None:
    owner, other = bearer_headers(settings, served.url, OWNER), bearer_headers(settings, served.url, OTHER)
    subject_url = f"{served.url}/v1/subjects/{PERSON}"
    for _ in range(2):
        assert httpx.get(subject_url, params=PURPOSE, headers=owner).status_code == 200
    # Not in the snapshot: a 404, counted under the same template.
    problem(httpx.get(f"{served.url}/v1/subjects/{ENTITY}", params=PURPOSE, headers=other), 404)
    problem(httpx.get(subject_url, params=PURPOSE), 401)
    assert httpx.get(f"{served.url}/no/such/{PERSON}").status_code == 404

    samples = _scrape(served)
    requests = "hub_api_requests_total"
    assert _value(samples, requests, department=OWNER, endpoint=SUBJECT_ROUTE, status="200") == 2
    assert _value(samples, requests, department=OTHER, endpoint=SUBJECT_ROUTE, status="404") == 1
    assert _value(samples, requests, department="none", endpoint=SUBJECT_ROUTE, status="401") == 1
    assert _value(samples, requests, department="none", endpoint="unmatched", status="404") == 1
    # The token requests count too, under their route.
    assert _value(samples, requests, endpoint="/v1/token", status="200") == 2
    latency = "hub_api_request_duration_seconds_count"
    assert _value(samples, latency, endpoint=SUBJECT_ROUTE, method="GET") == 4
    assert _value(samples, "hub_api_audit_write_failures_total") == 0
    labels = {value for s in samples for value in s.labels.values()}
    assert not {v for v in labels if PERSON in v or ENTITY in v}

    # The versions loaded at start: the catalogue as written, gold not built yet in this home.
    assert httpx.get(f"{served.url}/v1/items/{CONSTRUCTION_PERMIT}", headers=other).status_code == 200
    versions = {
        s.labels["table"]: s.value for s in _scrape(served) if s.name == "hub_api_served_table_version"
    }
    assert versions == {
        "gold.subject_profile": -1,
        "silver.approval_item": 0,
        "silver.item_requirement": 0,
        "gold.case_progress": -1,
    }

    # Scraped from inside the network, not a department's operation: not in the API's document.
    assert "/metrics" not in httpx.get(f"{served.url}/openapi.json").json()["paths"]


def test_an_audit_record_that_cannot_be_written_is_counted_and_answered_503(
    served: BackgroundServer, app: FastAPI, settings: Settings
) -> None:
    owner = bearer_headers(settings, served.url, OWNER)
    journal = settings.audit_journal
    before = _scrape(served)
    # The open segment sealed, the next append must make a new one where a file now stands.
    app.state.audit_journal.close()
    shutil.rmtree(journal)
    journal.write_text("not a directory")
    try:
        response = httpx.get(f"{served.url}/v1/subjects/{PERSON}", params=PURPOSE, headers=owner)
    finally:
        journal.unlink()
    problem(response, 503)

    after = _scrape(served)
    failures = "hub_api_audit_write_failures_total"
    assert _value(after, failures) - _value(before, failures) == 1
    status_503 = {"department": OWNER, "endpoint": SUBJECT_ROUTE, "status": "503"}
    assert _value(after, "hub_api_requests_total", **status_503) == 1
    # The journal back, the next request is audited and answered again.
    assert httpx.get(f"{served.url}/v1/subjects/{PERSON}", params=PURPOSE, headers=owner).status_code == 200
    assert _value(_scrape(served), failures) == _value(after, failures)


def test_with_a_token_set_metrics_wants_it(
    served: BackgroundServer, app: FastAPI, settings: Settings
) -> None:
    token = "scraper-token-0123456789"
    app.state.settings = settings.model_copy(update={"metrics_token": SecretStr(token)})
    try:
        refused = httpx.get(f"{served.url}/metrics")
        wrong = httpx.get(f"{served.url}/metrics", headers={"Authorization": "Bearer not-the-token"})
        samples = _scrape(served, {"Authorization": f"Bearer {token}"})
    finally:
        app.state.settings = settings
    assert problem(refused, 401)["detail"] == "/metrics wants the scraper's bearer token (HUB_METRICS_TOKEN)"
    problem(wrong, 401)
    assert _value(samples, "hub_api_requests_total", endpoint="/metrics", status="401") == 2
