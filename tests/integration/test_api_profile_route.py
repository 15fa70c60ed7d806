"""The profile route answers a well-formed request without FastAPI's dependency solving
(`api.routes.subjects.ProfileRoute`): over real HTTP, each request gets the same answer and the
same audit record whichever way it is answered.

One app holds the hand-made snapshot as its store, so its requests take the direct way; the other
gets it through a dependency override, so FastAPI solves every request as the route declares."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.deps import get_profile_store
from api.main import create_app
from hub.audit import journal_records
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import OTHER, OWNER, PERSON

pytestmark = pytest.mark.integration

PURPOSE = "approval_handling"
TOO_LONG = "9" * 65

# (name, subject id, query, whose token: a department, "none" or "bad")
REQUESTS: list[tuple[str, str, tuple[tuple[str, str], ...], str]] = [
    ("owner", PERSON, (("purpose", PURPOSE),), OWNER),
    ("another department", PERSON.lower(), (("purpose", PURPOSE),), OTHER),
    ("no such subject", "110105194912310011", (("purpose", PURPOSE),), OWNER),
    ("malformed id", "12345", (("purpose", PURPOSE),), OWNER),
    ("unknown purpose", PERSON, (("purpose", "curiosity"),), OWNER),
    ("empty purpose", PERSON, (("purpose", ""),), OWNER),
    ("purpose twice", PERSON, (("purpose", "curiosity"), ("purpose", PURPOSE)), OWNER),
    ("no purpose", PERSON, (), OWNER),
    ("purpose too long", PERSON, (("purpose", TOO_LONG),), OWNER),
    ("id too long", TOO_LONG, (("purpose", PURPOSE),), OWNER),
    ("no token", PERSON, (("purpose", PURPOSE),), "none"),
    ("bad token", PERSON, (("purpose", PURPOSE),), "bad"),
]
# What differs between any two requests, whichever way they are answered.
PER_REQUEST_HEADERS = {"x-request-id", "date"}
PER_REQUEST_FIELDS = {"record_id", "request_id", "at", "client_id"}


def _served_app(settings: Settings, tmp: Path, declared: bool) -> FastAPI:
    app = create_app(settings.model_copy(update={"home": tmp}))
    if declared:
        app.dependency_overrides[get_profile_store] = FixedStore
    else:
        app.state.profile_store = FixedStore()
    return app


@pytest.fixture(scope="module")
def answers(
    hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[bool, dict[str, tuple[httpx.Response, dict[str, Any] | None]]]:
    """Each request's response and audit record (None when not audited), by the way it was answered."""
    by_way = {}
    for declared in (False, True):
        home = tmp_path_factory.mktemp("declared" if declared else "direct")
        app = _served_app(hub_settings, home, declared)
        with BackgroundServer(app) as served:
            tokens = {d: bearer_headers(app.state.settings, served.url, d) for d in (OWNER, OTHER)}
            tokens |= {"none": {}, "bad": {"Authorization": "Bearer not-a-token"}}
            responses = {
                name: httpx.get(
                    f"{served.url}/v1/subjects/{subject}",
                    params=query,
                    headers=tokens[whose],
                )
                for name, subject, query, whose in REQUESTS
            }
            records = {r.request_id: r for r in journal_records(app.state.settings.audit_journal)}
        by_way[declared] = {
            name: (response, _record(records.get(response.headers["X-Request-ID"])))
            for name, response in responses.items()
        }
    return by_way


def _record(record: Any) -> dict[str, Any] | None:
    if record is None:
        return None
    return {k: v for k, v in record.__dict__.items() if k not in PER_REQUEST_FIELDS}


@pytest.mark.parametrize("name", [r[0] for r in REQUESTS])
def test_each_request_is_answered_and_audited_alike_either_way(
    answers: dict[bool, dict[str, tuple[httpx.Response, dict[str, Any] | None]]], name: str
) -> None:
    (direct, direct_record), (declared, declared_record) = answers[False][name], answers[True][name]
    assert direct.status_code == declared.status_code
    assert direct.content == declared.content
    headers = {k: v for k, v in direct.headers.items() if k not in PER_REQUEST_HEADERS}
    assert headers == {k: v for k, v in declared.headers.items() if k not in PER_REQUEST_HEADERS}
    assert direct_record == declared_record


def test_the_requests_cover_answers_refusals_and_unaudited_ones(
    answers: dict[bool, dict[str, tuple[httpx.Response, dict[str, Any] | None]]],
) -> None:
    statuses = {name: response.status_code for name, (response, _) in answers[False].items()}
    assert statuses == {
        "owner": 200,
        "another department": 200,
        "no such subject": 404,
        "malformed id": 422,
        "unknown purpose": 422,
        "empty purpose": 422,
        "purpose twice": 200,
        "no purpose": 422,
        "purpose too long": 422,
        "id too long": 422,
        "no token": 401,
        "bad token": 401,
    }
    audited = {name for name, (_, record) in answers[False].items() if record is not None}
    assert audited == set(statuses) - {"no token", "bad token"}
    assert answers[False]["another department"][1]["fields_withheld"]  # type: ignore[index]
