"""Schemathesis' stateless checks over every operation of the OpenAPI document, against the app
served over real HTTP on a hand-made snapshot, with a valid token: no 5xx, and every response
(status, media type, headers, body) as the document declares it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck

from api.deps import get_profile_store
from api.main import create_app
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.storage import local_bucket_dir
from tests.api_client import bearer_headers
from tests.catalogue_rows import write_catalogue
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import OWNER

pytestmark = pytest.mark.integration

CONFIG: dict[str, Any] = {
    # Not stored across runs: each run is fresh and leaves nothing in the work tree.
    "generation": {"database": "none"},
    "checks": {
        # A subject id that is text of the right length can still fail its check character or
        # hold an impossible birth date, which no JSON Schema says: 422 then is right. The progress
        # query refuses valid requests with 429 once a case number or client failed too often.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "422", "429"]},
    },
}


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hub_settings.model_copy(update={"home": Path(tmp_path_factory.mktemp("schemathesis-home"))})
    write_catalogue(settings)
    stored = local_bucket_dir(settings, settings.materials_bucket) / "materials/ab/abcd.pdf"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.7")
    return settings


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def auth(served: BackgroundServer, settings: Settings) -> dict[str, str]:
    # The department that owns the snapshot's health certificate, so its download is answered too.
    return bearer_headers(settings, served.url, OWNER)


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, made at import for pytest to collect one test per operation
    (the served app's is checked to be the same)."""
    with tempfile.TemporaryDirectory() as home:
        document: dict[str, Any] = create_app(Settings(home=Path(home))).openapi()
    return document


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(CONFIG))


def test_the_served_document_is_the_one_checked(served: BackgroundServer) -> None:
    assert httpx.get(f"{served.url}/openapi.json").json() == DOCUMENT


@schema.parametrize()
@hypothesis.settings(
    max_examples=8, deadline=5000, database=None, suppress_health_check=[HealthCheck.too_slow]
)
def test_every_operation_answers_as_its_openapi_document_says(
    case: schemathesis.Case[Any], served: BackgroundServer, auth: dict[str, str]
) -> None:
    case.call_and_validate(base_url=served.url, headers=auth)
