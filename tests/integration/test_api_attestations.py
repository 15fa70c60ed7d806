"""`GET /v1/subjects/{id}/attestations/{certificate_type}` over real HTTP: yes or no, nothing of
the certificate, the same "no" for a subject the hub does not know, and audited."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.deps import district_today, get_profile_store
from api.main import create_app
from api.profiles import ProfileSnapshot
from hub.audit import journal_records
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers, problem
from tests.profile_rows import ENTITY, OTHER, OWNER, PERSON, profile_row

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 11, 26)
PURPOSE = {"purpose": "approval_handling"}


def _certificate(certificate_type: str, **changes: Any) -> dict[str, Any]:
    held: dict[str, Any] = copy.deepcopy(profile_row()["certificates"][0])
    return held | {"certificate_type": certificate_type, "certificate_id": f"ZZ-{certificate_type}"} | changes


# One certificate of each type, each a way of being, or not being, valid today.
CERTIFICATES = [
    _certificate("food_business_licence"),  # valid 2026-11-01 to 2031-10-31
    _certificate("business_licence", valid_until=None),  # without a time limit
    _certificate("health_certificate", valid_until=TODAY),  # its last day
    _certificate("construction_permit", valid_until=TODAY - dt.timedelta(days=1)),
    _certificate("public_place_hygiene_licence", valid_from=TODAY + dt.timedelta(days=1)),
    _certificate("fire_safety_inspection_permit", status="revoked"),
    # gold judged it in force at its build; its validity ended since.
    _certificate("environmental_approval", valid_until=TODAY - dt.timedelta(days=1), in_force=True),
]
HOLDS = {"food_business_licence", "business_licence", "health_certificate"}


class CertifiedStore:
    def snapshot(self) -> ProfileSnapshot:
        return ProfileSnapshot(11, {PERSON: profile_row() | {"certificates": CERTIFICATES}})


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return hub_settings.model_copy(update={"home": Path(tmp_path_factory.mktemp("attestation-home"))})


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = CertifiedStore
    app.dependency_overrides[district_today] = lambda: TODAY
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def auth(served: BackgroundServer, settings: Settings) -> dict[str, str]:
    return bearer_headers(settings, served.url, "health")


def _attest(served: BackgroundServer, auth: dict[str, str], subject_id: str, kind: str) -> httpx.Response:
    return httpx.get(
        f"{served.url}/v1/subjects/{subject_id}/attestations/{kind}", params=PURPOSE, headers=auth
    )


def test_holds_a_valid_certificate_only_when_status_and_validity_cover_today(
    served: BackgroundServer, auth: dict[str, str]
) -> None:
    answers = {}
    for certificate in CERTIFICATES:
        response = _attest(served, auth, PERSON, certificate["certificate_type"])
        assert response.status_code == 200, response.text
        answers[certificate["certificate_type"]] = response.json()["holds"]
    assert {kind for kind, holds in answers.items() if holds} == HOLDS
    # A type the subject holds no certificate of at all.
    assert _attest(served, auth, PERSON, "social_insurance_registration").json()["holds"] is False


def test_the_answer_reveals_nothing_of_the_certificate(
    served: BackgroundServer, auth: dict[str, str]
) -> None:
    body = _attest(served, auth, PERSON.lower(), "food_business_licence").json()
    assert body == {
        "subject_id": PERSON,
        "certificate_type": "food_business_licence",
        "holds": True,
        "checked_on": "2026-11-26",
        "gold_version": 11,
        "access": {
            "department": "health",
            "purpose": "approval_handling",
            "grant_ids": [],
            "unmasked": False,
        },
        "withheld": [],
    }


def test_a_subject_the_hub_does_not_know_gets_the_same_no(
    served: BackgroundServer, auth: dict[str, str]
) -> None:
    unknown = _attest(served, auth, ENTITY, "food_business_licence")
    without = _attest(served, auth, PERSON, "social_insurance_registration")
    assert unknown.status_code == without.status_code == 200
    strip = {"subject_id", "certificate_type"}
    assert {k: v for k, v in unknown.json().items() if k not in strip} == {
        k: v for k, v in without.json().items() if k not in strip
    }


def test_an_unknown_certificate_type_or_a_malformed_id_is_422(
    served: BackgroundServer, auth: dict[str, str]
) -> None:
    detail = problem(_attest(served, auth, PERSON, "driving_licence"), 422)["detail"]
    assert "unknown certificate_type 'driving_licence'" in detail
    assert "food_business_licence" in detail
    assert (
        "check character"
        in problem(_attest(served, auth, "110105194912310021", "business_licence"), 422)["detail"]
    )
    no_purpose = httpx.get(f"{served.url}/v1/subjects/{PERSON}/attestations/business_licence", headers=auth)
    assert "purpose" in problem(no_purpose, 422)["detail"]


def test_every_attestation_is_audited_with_only_the_answer_returned(
    served: BackgroundServer, settings: Settings, auth: dict[str, str]
) -> None:
    held = _attest(served, auth, PERSON, "food_business_licence")
    unknown = _attest(served, auth, ENTITY, "food_business_licence")
    bad_type = _attest(served, auth, PERSON, "driving_licence")
    records = {r.request_id: r for r in journal_records(settings.audit_journal)}
    for response, (status, outcome, subject_id) in {
        held: (200, "shown", PERSON),
        unknown: (200, "shown", ENTITY),
        bad_type: (422, "invalid_certificate_type", PERSON),
    }.items():
        record = records[response.headers["X-Request-ID"]]
        assert (record.endpoint, record.status, record.outcome, record.subject_id) == (
            "subject_attestation",
            status,
            outcome,
            subject_id,
        )
        assert record.department == "health"
    assert records[held.headers["X-Request-ID"]].fields_returned == ("holds",)
    assert records[held.headers["X-Request-ID"]].gold_version == 11
    assert records[bad_type.headers["X-Request-ID"]].fields_returned == ()


def test_owner_and_other_get_the_same_answer(served: BackgroundServer, settings: Settings) -> None:
    for department in (OWNER, OTHER):
        headers = bearer_headers(settings, served.url, department)
        assert _attest(served, headers, PERSON, "food_business_licence").json()["holds"] is True
