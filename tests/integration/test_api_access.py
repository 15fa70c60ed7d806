"""Authorization over real HTTP: every request for subject data states a purpose, and what a
department sees of a profile follows the contracts' sharing classes and the grants it holds.

The server reads a hand-made snapshot (food_drug and market_regulation each own part of it) and a
grant registry of its own, with no cache, so a grant made or revoked applies to the next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.deps import get_profile_store
from api.main import create_app
from hub.grants import Grant, grant_registry
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers, problem
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import OTHER, OWNER, PERSON

pytestmark = pytest.mark.integration

PROFILE_URL = f"/v1/subjects/{PERSON}"
PURPOSE = "approval_handling"


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return hub_settings.model_copy(
        update={
            "home": Path(tmp_path_factory.mktemp("access-home")),
            "credential_cache_seconds": 0.0,
            "grant_cache_seconds": 0.0,
        }
    )


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(served: BackgroundServer, settings: Settings) -> dict[str, dict[str, str]]:
    """A bearer header for a client of each department."""
    departments = (OWNER, OTHER, "health", "housing_construction", "human_resources")
    return {d: bearer_headers(settings, served.url, d) for d in departments}


def _grant(settings: Settings, department: str, purpose: str = PURPOSE, *, unmasked: bool = False) -> Grant:
    return grant_registry(settings).create(
        department, purpose, approved_by="王主任", basis="区政务办〔2026〕12号", unmasked=unmasked
    )


def _profile(served: BackgroundServer, headers: dict[str, str], purpose: str = PURPOSE) -> dict[str, Any]:
    response = httpx.get(f"{served.url}{PROFILE_URL}", params={"purpose": purpose}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _identity(body: dict[str, Any], field: str) -> dict[str, str]:
    """An identity attribute's values by reporting department, as the caller sees them."""
    return {e["department"]: e["value"] for e in body["identity"] if e["field"] == field}


def _withheld(body: dict[str, Any]) -> dict[tuple[str, str | None], str]:
    return {(w["field"], w["department"]): w["sharing_class"] for w in body["withheld"]}


def test_a_request_without_a_purpose_is_422_with_the_reason(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    response = httpx.get(f"{served.url}{PROFILE_URL}", headers=tokens[OTHER])
    body = problem(response, 422)
    assert (body["title"], body["detail"]) == ("Unprocessable Content", "query purpose: Field required")


def test_an_unknown_purpose_is_422_naming_the_known_ones(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    response = httpx.get(f"{served.url}{PROFILE_URL}", params={"purpose": "curiosity"}, headers=tokens[OTHER])
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "unknown purpose 'curiosity'" in detail
    assert "approval_handling, statistics, supervision" in detail


def test_without_a_token_a_missing_purpose_is_still_401(served: BackgroundServer) -> None:
    assert httpx.get(f"{served.url}{PROFILE_URL}").status_code == 401


def test_a_department_without_a_grant_gets_the_unconditional_part(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    body = _profile(served, tokens["health"])
    assert (body["subject_type"], body["departments"], body["case_count"]) == ("person", [OWNER, OTHER], 2)
    assert [c["case_id"] for c in body["cases"]] == ["SC2", "SY1"]
    assert body["subject_name"] is None
    assert _identity(body, "gender") == {}
    assert [m["file_object_key"] for m in body["materials_on_file"]] == [None, None]
    withheld = _withheld(body)
    assert withheld[("subject_name", None)] == "conditional"
    assert withheld[("identity.gender", OWNER)] == "conditional"
    assert withheld[("identity.mobile_phone", OWNER)] == "not_shared"
    assert withheld[("materials_on_file.file_object_key", OTHER)] == "conditional"


def test_a_department_cannot_see_anothers_not_shared_fields_even_with_an_unmasked_grant(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    grant = _grant(settings, OTHER, unmasked=True)
    try:
        body = _profile(served, tokens[OTHER])
    finally:
        grant_registry(settings).revoke(grant.grant_id)
    # Its own phone number, as it reported it; food_drug's is not shared.
    assert _identity(body, "mobile_phone") == {OTHER: "13900000002"}
    assert _identity(body, "address") == {OTHER: f"address as {OTHER} reported it"}
    assert _withheld(body)[("identity.mobile_phone", OWNER)] == "not_shared"
    # The owner sees its own.
    owner = _profile(served, tokens[OWNER])
    assert _identity(owner, "mobile_phone") == {OWNER: "13800000001"}


def test_a_grant_for_the_purpose_opens_conditional_fields_masked_or_unmasked(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    caller = tokens["housing_construction"]
    before = _profile(served, caller)
    assert _identity(before, "birth_date") == {}

    masked = _grant(settings, "housing_construction")
    body = _profile(served, caller)
    assert body["access"]["grant_ids"] == [masked.grant_id]
    assert body["subject_name"] == "陈*"
    assert _identity(body, "birth_date") == {OWNER: "1949-**-**", OTHER: "2030-**-**"}
    assert body["legal_representative_id"] == "110105********002X"
    # Not personal data, so a grant opens it whole.
    assert [m["file_object_key"] for m in body["materials_on_file"]] == [
        "materials/ab/abcd.pdf",
        "materials/cd/cdef.pdf",
    ]
    assert "subject_name" in body["masked"]
    assert ("identity.birth_date", OWNER) not in _withheld(body)

    grant_registry(settings).revoke(masked.grant_id)
    unmasked = _grant(settings, "housing_construction", unmasked=True)
    try:
        body = _profile(served, caller)
    finally:
        grant_registry(settings).revoke(unmasked.grant_id)
    assert body["subject_name"] == "陈伟"
    assert _identity(body, "birth_date") == {OWNER: "1949-12-31", OTHER: "2030-06-30"}
    assert body["legal_representative_id"] == PERSON
    assert body["masked"] == []

    # Revoked: the next request is back to the unconditional part.
    assert _profile(served, caller)["subject_name"] is None


def test_a_grant_for_another_purpose_opens_nothing(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    grant = _grant(settings, "human_resources", "statistics", unmasked=True)
    try:
        for_approval = _profile(served, tokens["human_resources"], PURPOSE)
        for_statistics = _profile(served, tokens["human_resources"], "statistics")
    finally:
        grant_registry(settings).revoke(grant.grant_id)
    assert (for_approval["subject_name"], for_approval["access"]["grant_ids"]) == (None, [])
    assert (for_statistics["subject_name"], for_statistics["access"]["grant_ids"]) == (
        "陈伟",
        [grant.grant_id],
    )


def test_a_department_lists_its_own_grants_and_never_anothers(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    own = _grant(settings, OWNER, "supervision")
    others = _grant(settings, OTHER, "supervision", unmasked=True)
    try:
        listed = httpx.get(f"{served.url}/v1/grants", headers=tokens[OWNER])
        # Asking for another department's grants by name changes nothing: the token decides.
        asked_for_other = httpx.get(
            f"{served.url}/v1/grants", params={"department": OTHER}, headers=tokens[OWNER]
        )
    finally:
        grant_registry(settings).revoke(own.grant_id)
        grant_registry(settings).revoke(others.grant_id)
    assert listed.status_code == asked_for_other.status_code == 200
    for response in (listed, asked_for_other):
        assert {g["department"] for g in response.json()} == {OWNER}
        assert others.grant_id not in response.text
    mine = next(g for g in listed.json() if g["grant_id"] == own.grant_id)
    assert (mine["purpose"], mine["unmasked"], mine["status"], mine["basis"]) == (
        "supervision",
        False,
        "active",
        "区政务办〔2026〕12号",
    )
    assert httpx.get(f"{served.url}/v1/grants").status_code == 401
    # No route reads a grant by id or another department's list.
    assert httpx.get(f"{served.url}/v1/grants/{others.grant_id}", headers=tokens[OWNER]).status_code == 404


def test_the_openapi_document_requires_a_purpose_and_declares_the_errors(served: BackgroundServer) -> None:
    document = httpx.get(f"{served.url}/openapi.json").json()
    operation = document["paths"]["/v1/subjects/{subject_id}"]["get"]
    (purpose,) = [p for p in operation["parameters"] if p["name"] == "purpose"]
    assert purpose["required"] is True
    assert purpose["in"] == "query"
    assert sorted(purpose["schema"]["enum"]) == ["approval_handling", "statistics", "supervision"]
    assert "审批办理" in purpose["description"]
    assert set(operation["responses"]) == {"200", "401", "404", "422", "503"}
    for status in ("401", "404", "422", "503"):
        assert operation["responses"][status]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}
        }
    problem_schema = document["components"]["schemas"]["ProblemDetail"]
    assert set(problem_schema["properties"]) == {"type", "title", "status", "detail", "instance"}
    # FastAPI's own validation error shape is not served, so not declared.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    profile = document["components"]["schemas"]["SubjectProfilePublic"]
    assert {"withheld", "masked", "access", "identity", "materials_on_file"} <= set(profile["properties"])
    assert document["paths"]["/v1/grants"]["get"]["security"] == [{"departmentClient": []}]
