"""The audit over real HTTP: every request for subject data with a valid token is journaled before
its response leaves, refused ones too, and `GET /v1/subjects/{id}/access-log` tells a department
its own accesses, or every department's under a supervision grant.

The server reads the hand-made snapshot and a home of its own, with no registry cache, so a grant
made or revoked applies to the next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

import hub.audit
from api.audit import SubjectAccess
from api.deps import get_profile_store
from api.main import create_app
from api.profiles import ProfileSnapshot
from hub.audit import AuditRecord, journal_records, ship
from hub.grants import Grant, grant_registry
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers, problem
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import ENTITY, OTHER, OWNER, PERSON

pytestmark = pytest.mark.integration

SUPERVISOR = "health"


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return hub_settings.model_copy(
        update={
            "home": Path(tmp_path_factory.mktemp("audit-home")),
            "credential_cache_seconds": 0.0,
            "grant_cache_seconds": 0.0,
        }
    )


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    return app


@pytest.fixture(scope="module")
def served(app: FastAPI) -> Iterator[BackgroundServer]:
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(served: BackgroundServer, settings: Settings) -> dict[str, dict[str, str]]:
    return {d: bearer_headers(settings, served.url, d) for d in (OWNER, OTHER, SUPERVISOR)}


def _get(served: BackgroundServer, path: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return httpx.get(f"{served.url}{path}", params=params, headers=headers)


def _journaled(settings: Settings) -> dict[str, AuditRecord]:
    return {r.request_id: r for r in journal_records(settings.audit_journal)}


def _grant(settings: Settings, department: str, purpose: str) -> Grant:
    registry = grant_registry(settings)
    return registry.create(department, purpose, approved_by="王主任", basis="区纪委监委〔2026〕3号")


def _access_log(
    served: BackgroundServer, headers: dict[str, str], purpose: str, subject_id: str = PERSON
) -> dict[str, Any]:
    response = _get(served, f"/v1/subjects/{subject_id}/access-log", headers, purpose=purpose)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_route_under_subjects_is_audited(app: FastAPI) -> None:
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/v1/subjects")]
    assert {r.path for r in routes} == {
        "/v1/subjects/{subject_id}",
        "/v1/subjects/{subject_id}/access-log",
        "/v1/subjects/{subject_id}/attestations/{certificate_type}",
        "/v1/subjects/{subject_id}/reuse-plan",
        "/v1/subjects/{subject_id}/materials/{material_type}/download",
    }
    for route in routes:
        assert any(isinstance(d.call, SubjectAccess) for d in route.dependant.dependencies), route.path


def test_each_request_with_a_valid_token_is_journaled_before_its_response_refused_or_not(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    caller = tokens[OTHER]
    shown = _get(served, f"/v1/subjects/{PERSON}", caller, purpose="approval_handling")
    not_found = _get(served, f"/v1/subjects/{ENTITY}", caller, purpose="statistics")
    bad_id = _get(served, "/v1/subjects/110105194912310021", caller, purpose="approval_handling")
    bad_purpose = _get(served, f"/v1/subjects/{PERSON}", caller, purpose="curiosity")
    no_purpose = _get(served, f"/v1/subjects/{PERSON}", caller)
    no_token = _get(served, f"/v1/subjects/{PERSON}", {}, purpose="approval_handling")
    # The journal is read while the server runs: each record is there once its response was.
    journaled = _journaled(settings)

    expected = {
        shown: (200, "shown", PERSON, "approval_handling"),
        not_found: (404, "not_found", ENTITY, "statistics"),
        bad_id: (422, "invalid_subject_id", "110105194912310021", "approval_handling"),
        bad_purpose: (422, "invalid_purpose", PERSON, "curiosity"),
        no_purpose: (422, "invalid_purpose", PERSON, None),
    }
    for response, (status, outcome, subject_id, purpose) in expected.items():
        assert response.status_code == status
        record = journaled[response.headers["X-Request-ID"]]
        assert (record.status, record.outcome, record.subject_id, record.purpose) == (
            status,
            outcome,
            subject_id,
            purpose,
        )
        assert (record.department, record.endpoint) == (OTHER, "subject_profile")
        assert record.client_id.startswith(f"{OTHER}-")
    # No token, no caller: not an access to the subject's data, and not journaled.
    assert no_token.status_code == 401
    assert no_token.headers["X-Request-ID"] not in journaled

    # What the response said it withheld and masked is what the audit holds.
    body, record = shown.json(), journaled[shown.headers["X-Request-ID"]]
    assert record.gold_version == 7
    assert list(record.fields_masked) == body["masked"]
    assert [
        {"field": w.field, "department": w.department, "sharing_class": w.sharing_class, "count": w.count}
        for w in record.fields_withheld
    ] == [{k: v for k, v in w.items() if k != "reason"} for w in body["withheld"]]
    assert {"cases.case_id", "subject_type", "identity.gender"} <= set(record.fields_returned)
    # Withheld from this caller, so not returned.
    assert "subject_name" not in record.fields_returned
    assert journaled[not_found.headers["X-Request-ID"]].fields_returned == ()


def test_a_department_sees_its_own_accesses_and_every_one_only_under_a_supervision_grant(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    owners = _get(served, f"/v1/subjects/{PERSON}", tokens[OWNER], purpose="statistics")
    others = _get(served, f"/v1/subjects/{PERSON}", tokens[OTHER], purpose="approval_handling")
    owners_id, others_id = owners.headers["X-Request-ID"], others.headers["X-Request-ID"]

    own = _access_log(served, tokens[OTHER], "approval_handling")
    assert own["scope"] == "own_department"
    assert {e["department"] for e in own["entries"]} == {OTHER}
    assert others_id in {e["request_id"] for e in own["entries"]}
    # Not who else looked, nor why, nor how many times.
    assert owners_id not in {e["request_id"] for e in own["entries"]}
    assert "statistics" not in {e["purpose"] for e in own["entries"]}
    assert own["total"] == len(own["entries"])

    supervision = _grant(settings, SUPERVISOR, "supervision")
    handling = _grant(settings, OTHER, "approval_handling")
    try:
        # A supervision grant opens the log only to a request stating supervision, and a grant for
        # another purpose never does.
        stated_otherwise = _access_log(served, tokens[SUPERVISOR], "approval_handling")
        other_grant = _access_log(served, tokens[OTHER], "supervision")
        supervised = _access_log(served, tokens[SUPERVISOR], "supervision")
    finally:
        grant_registry(settings).revoke(supervision.grant_id)
        grant_registry(settings).revoke(handling.grant_id)
    assert (stated_otherwise["scope"], stated_otherwise["entries"]) == ("own_department", [])
    assert other_grant["scope"] == "own_department"
    assert {e["department"] for e in other_grant["entries"]} == {OTHER}

    assert supervised["scope"] == "all_departments"
    assert supervised["access"]["grant_ids"] == [supervision.grant_id]
    entries = {e["request_id"]: e for e in supervised["entries"]}
    assert (entries[owners_id]["department"], entries[owners_id]["purpose"]) == (OWNER, "statistics")
    assert entries[others_id]["outcome"] == "shown"
    assert entries[others_id]["at"].endswith("+08:00")
    # Newest first, and the department's own reads of the log are in it.
    ats = [e["at"] for e in supervised["entries"]]
    assert ats == sorted(ats, reverse=True)
    assert {(e["department"], e["endpoint"]) for e in supervised["entries"]} >= {
        (OTHER, "subject_access_log"),
        (SUPERVISOR, "subject_access_log"),
    }

    # Reading the log is audited like any access; after the grant is revoked, the log is own again.
    after = _access_log(served, tokens[SUPERVISOR], "supervision")
    assert after["scope"] == "own_department"
    reads = [e for e in after["entries"] if e["purpose"] == "supervision"]
    assert reads
    assert reads[0]["grant_ids"] == [supervision.grant_id]
    assert reads[0]["fields_returned"]


def test_the_access_log_reads_shipped_and_unshipped_records_each_once(
    served: BackgroundServer, app: FastAPI, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    before = _get(served, f"/v1/subjects/{ENTITY}", tokens[OWNER], purpose="approval_handling")
    # Seal the running server's segment, as its age would, and ship it.
    app.state.audit_journal.close()
    report = ship(settings)
    assert report.rows >= 1
    assert report.live == []
    after = _get(served, f"/v1/subjects/{ENTITY}", tokens[OWNER], purpose="approval_handling")
    assert after.headers["X-Request-ID"] in _journaled(settings)

    log = _access_log(served, tokens[OWNER], "approval_handling", ENTITY)
    request_ids = [e["request_id"] for e in log["entries"]]
    assert request_ids[-2:] == [after.headers["X-Request-ID"], before.headers["X-Request-ID"]]
    assert len(request_ids) == len(set(request_ids)) == 2


def test_a_request_that_cannot_be_journaled_gets_503_and_none_of_the_data(
    served: BackgroundServer,
    app: FastAPI,
    settings: Settings,
    tokens: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    # The sync fails: the record's batch is cut off the segment, and its response refused.
    monkeypatch.setattr(hub.audit, "_sync", disk_full)
    response = _get(served, f"/v1/subjects/{PERSON}", tokens[OWNER], purpose="approval_handling")
    monkeypatch.undo()
    assert problem(response, 503)["detail"] == (
        "the request could not be audited, so nothing is returned; retry"
    )
    assert response.headers["X-Request-ID"] not in _journaled(settings)
    assert _get(served, "/health", {}).status_code == 200


class BrokenStore:
    def snapshot(self) -> ProfileSnapshot:
        raise RuntimeError("gold cannot be read")


def test_a_request_that_fails_in_the_route_is_journaled_as_an_error(
    served: BackgroundServer, app: FastAPI, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    before = set(_journaled(settings))
    app.dependency_overrides[get_profile_store] = BrokenStore
    try:
        response = _get(served, f"/v1/subjects/{PERSON}", tokens[OWNER], purpose="approval_handling")
    finally:
        app.dependency_overrides[get_profile_store] = FixedStore
    # The reason stays with the operators: it may name data the caller may not see.
    assert "gold cannot be read" not in problem(response, 500)["detail"]
    (error,) = [r for request_id, r in _journaled(settings).items() if request_id not in before]
    assert (error.status, error.outcome, error.department) == (500, "error", OWNER)
    assert error.fields_returned == ()
