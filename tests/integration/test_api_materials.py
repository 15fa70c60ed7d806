"""Material downloads over real HTTP on local storage: a short-lived link the API signs and serves
itself, only for a caller that may have the file, audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.deps import get_profile_store
from api.main import create_app
from hub.audit import journal_records
from hub.grants import grant_registry
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.storage import local_bucket_dir
from tests.api_client import bearer_headers, problem
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import ENTITY, OTHER, OWNER, PERSON

pytestmark = pytest.mark.integration

PURPOSE = "approval_handling"
# food_drug's health certificate of PERSON, in tests/profile_rows.py.
HEALTH_CERTIFICATE = b"%PDF-1.7 health certificate of the applicant"


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hub_settings.model_copy(
        update={"home": Path(tmp_path_factory.mktemp("materials-home")), "grant_cache_seconds": 0.0}
    )
    stored = local_bucket_dir(settings, settings.materials_bucket) / "materials/ab/abcd.pdf"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(HEALTH_CERTIFICATE)
    return settings


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(served: BackgroundServer, settings: Settings) -> dict[str, dict[str, str]]:
    return {d: bearer_headers(settings, served.url, d) for d in (OWNER, OTHER, "health")}


def _download(
    served: BackgroundServer, headers: dict[str, str], material_type: str, subject_id: str = PERSON
) -> httpx.Response:
    return httpx.get(
        f"{served.url}/v1/subjects/{subject_id}/materials/{material_type}/download",
        params={"purpose": PURPOSE},
        headers=headers,
    )


def test_the_owner_gets_a_link_that_downloads_the_file(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    response = _download(served, tokens[OWNER], "health_certificate")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["material_id"], body["department"], body["expires_in"]) == ("SY1-03", OWNER, 300)
    assert body["expires_at"].endswith("+08:00")
    # The link needs no token: its signature is the permission.
    fetched = httpx.get(body["url"])
    assert fetched.status_code == 200
    assert fetched.content == HEALTH_CERTIFICATE
    assert fetched.headers["content-type"] == "application/octet-stream"
    assert 'filename="abcd.pdf"' in fetched.headers["content-disposition"]
    last = body["url"][-1]
    tampered = httpx.get(body["url"][:-1] + ("0" if last != "0" else "1"))
    assert problem(tampered, 403)["detail"].startswith("the link's signature")


def test_another_department_needs_an_unmasked_grant_for_the_purpose(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    refused = problem(_download(served, tokens[OTHER], "health_certificate"), 403)
    assert (
        refused["detail"] == f"conditional: {OWNER} sees it, and a department holding a grant for {PURPOSE}"
    )
    registry = grant_registry(settings)
    masked = registry.create(OTHER, PURPOSE, approved_by="王主任", basis="区政务办〔2026〕12号")
    try:
        # The key would be shown under it, but a file cannot be masked.
        assert (
            "personal data" in problem(_download(served, tokens[OTHER], "health_certificate"), 403)["detail"]
        )
    finally:
        registry.revoke(masked.grant_id)
    unmasked = registry.create(
        OTHER, PURPOSE, approved_by="王主任", basis="区政务办〔2026〕12号", unmasked=True
    )
    try:
        granted = _download(served, tokens[OTHER], "health_certificate")
    finally:
        registry.revoke(unmasked.grant_id)
    assert granted.status_code == 200, granted.text
    assert granted.json()["access"]["grant_ids"] == [unmasked.grant_id]
    assert httpx.get(granted.json()["url"]).content == HEALTH_CERTIFICATE


def test_nothing_on_file_a_missing_file_and_an_unknown_type(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    # The same 404 for a subject the hub does not know and for one without the material.
    assert problem(_download(served, tokens[OWNER], "lease_contract"), 404)["detail"] == (
        f"no lease_contract of {PERSON} on file"
    )
    assert problem(_download(served, tokens[OWNER], "lease_contract", ENTITY), 404)["detail"] == (
        f"no lease_contract of {ENTITY} on file"
    )
    # market_regulation's ID card copy is on file, but its file is not in the store.
    assert (
        "not in the object store" in problem(_download(served, tokens[OTHER], "id_card_copy"), 404)["detail"]
    )
    assert (
        "unknown material_type 'selfie'" in problem(_download(served, tokens[OWNER], "selfie"), 422)["detail"]
    )


def test_each_link_handed_out_or_refused_is_audited(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    given = _download(served, tokens[OWNER], "health_certificate")
    refused = _download(served, tokens["health"], "health_certificate")
    records = {r.request_id: r for r in journal_records(settings.audit_journal)}
    record = records[given.headers["X-Request-ID"]]
    assert (record.endpoint, record.outcome, record.department, record.subject_id) == (
        "subject_material_download",
        "shown",
        OWNER,
        PERSON,
    )
    assert "url" in record.fields_returned
    refusal = records[refused.headers["X-Request-ID"]]
    assert (refusal.status, refusal.outcome, refusal.fields_returned) == (403, "forbidden", ())
