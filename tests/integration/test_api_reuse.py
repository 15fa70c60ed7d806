"""`GET /v1/subjects/{id}/reuse-plan?item_code=` over real HTTP: the item's requirement standard
(from the catalogue tables, written with delta-rs) set against a hand-made profile's materials on
file, each reuse or collect with its reason, through the access policy, and audited."""

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
from hub.grants import grant_registry
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers, problem
from tests.catalogue_rows import FOOD_STALL, SMALL_RESTAURANT, write_catalogue
from tests.profile_rows import ENTITY, OTHER, OWNER, PERSON, profile_row

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 11, 26)
PURPOSE = "approval_handling"


def _material(material_type: str, department: str, **changes: Any) -> dict[str, Any]:
    material: dict[str, Any] = copy.deepcopy(profile_row()["materials_on_file"][0])
    return (
        material
        | {
            "material_type": material_type,
            "material_id": f"{department}-{material_type}",
            "department": department,
            "file_object_key": f"materials/{department}/{material_type}.pdf",
        }
        | changes
    )


MATERIALS = [
    *profile_row()["materials_on_file"],  # food_drug's health certificate, market_regulation's ID copy
    _material("business_licence", OTHER, valid_until=None),
    _material("floor_plan", OTHER, accepted=False, valid_until=None),
    # Valid on gold's build day, run out since.
    _material("lease_contract", OWNER, valid_until=TODAY - dt.timedelta(days=1)),
    _material("application_form", OWNER, valid_until=None),
]


class MaterialStore:
    def snapshot(self) -> ProfileSnapshot:
        return ProfileSnapshot(12, {PERSON: profile_row() | {"materials_on_file": MATERIALS}})


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hub_settings.model_copy(
        update={"home": Path(tmp_path_factory.mktemp("reuse-home")), "grant_cache_seconds": 0.0}
    )
    write_catalogue(settings)
    return settings


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = MaterialStore
    app.dependency_overrides[district_today] = lambda: TODAY
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(served: BackgroundServer, settings: Settings) -> dict[str, dict[str, str]]:
    return {d: bearer_headers(settings, served.url, d) for d in (OWNER, "health")}


def _plan(
    served: BackgroundServer, headers: dict[str, str], item_code: str, subject_id: str = PERSON
) -> httpx.Response:
    return httpx.get(
        f"{served.url}/v1/subjects/{subject_id}/reuse-plan",
        params={"item_code": item_code, "purpose": PURPOSE},
        headers=headers,
    )


def _by_type(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["material_type"]: e for e in body["requirements"]}


def test_each_required_material_is_reused_or_collected_with_its_reason(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    response = _plan(served, tokens["health"], SMALL_RESTAURANT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["subject_id"], body["item_code"], body["checked_on"], body["gold_version"]) == (
        PERSON,
        SMALL_RESTAURANT,
        "2026-11-26",
        12,
    )
    plan = {kind: (e["decision"], e["reason"]) for kind, e in _by_type(body).items()}
    assert plan == {
        "application_form": ("collect", "not_reusable"),
        "business_licence": ("reuse", "on_file"),
        "floor_plan": ("collect", "not_accepted"),
        "health_certificate": ("reuse", "on_file"),
        "lease_contract": ("collect", "expired"),
    }
    assert body["counts"] == {"required": 5, "reuse": 2, "collect": 3}
    entries = _by_type(body)
    # The form on file is another case's: the item wants a new one, so it is not shown.
    assert entries["application_form"]["material"] is None
    assert (
        entries["lease_contract"]["explanation"]
        == f"the copy on file with {OWNER} was valid until 2026-11-25"
    )
    licence = entries["business_licence"]["material"]
    assert (licence["department"], licence["accepted"], licence["valid_until"]) == (OTHER, True, None)


def test_the_copy_on_file_is_shown_as_the_caller_may_see_it(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    without = _by_type(_plan(served, tokens["health"], SMALL_RESTAURANT).json())
    assert {e["material"]["file_object_key"] for e in without.values() if e["material"]} == {None}

    owner = _plan(served, tokens[OWNER], SMALL_RESTAURANT).json()
    keys = {kind: e["material"]["file_object_key"] for kind, e in _by_type(owner).items() if e["material"]}
    # Its own copies' keys, not market regulation's.
    assert keys == {
        "business_licence": None,
        "floor_plan": None,
        "health_certificate": "materials/ab/abcd.pdf",
        "lease_contract": f"materials/{OWNER}/lease_contract.pdf",
    }
    assert {(w["field"], w["department"], w["sharing_class"], w["count"]) for w in owner["withheld"]} == {
        ("requirements.material.file_object_key", OTHER, "conditional", 2)
    }

    grant = grant_registry(settings).create(
        "health", PURPOSE, approved_by="王主任", basis="区政务办〔2026〕12号"
    )
    try:
        granted = _plan(served, tokens["health"], SMALL_RESTAURANT).json()
    finally:
        grant_registry(settings).revoke(grant.grant_id)
    assert granted["withheld"] == []
    assert granted["access"]["grant_ids"] == [grant.grant_id]
    assert _by_type(granted)["business_licence"]["material"]["file_object_key"] == (
        f"materials/{OTHER}/business_licence.pdf"
    )


def test_a_subject_with_nothing_on_file_or_unknown_collects_everything(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    body = _plan(served, tokens["health"], FOOD_STALL, ENTITY).json()
    assert {kind: e["reason"] for kind, e in _by_type(body).items()} == {
        "application_form": "not_reusable",
        "health_certificate": "not_on_file",
        "id_card_copy": "not_on_file",
        "power_of_attorney": "not_reusable",
    }
    assert body["counts"] == {"required": 4, "reuse": 0, "collect": 4}
    known = _plan(served, tokens["health"], FOOD_STALL).json()
    assert known["counts"] == {"required": 4, "reuse": 2, "collect": 2}
    assert [e["mandatory"] for e in known["requirements"]] == [True, True, True, False]


def test_an_unknown_item_is_404_and_a_malformed_or_missing_code_422(
    served: BackgroundServer, tokens: dict[str, dict[str, str]]
) -> None:
    assert problem(_plan(served, tokens["health"], "SYJ-9999-99"), 404)["detail"] == (
        "no item SYJ-9999-99 in the catalogue"
    )
    assert "item_code" in problem(_plan(served, tokens["health"], "SYJ 0201 01"), 422)["detail"]
    missing = httpx.get(
        f"{served.url}/v1/subjects/{PERSON}/reuse-plan", params={"purpose": PURPOSE}, headers=tokens["health"]
    )
    assert "query item_code: Field required" in problem(missing, 422)["detail"]
    assert (
        "check character"
        in problem(_plan(served, tokens["health"], FOOD_STALL, "110105194912310021"), 422)["detail"]
    )


def test_a_plan_is_audited_with_what_it_showed_and_withheld(
    served: BackgroundServer, settings: Settings, tokens: dict[str, dict[str, str]]
) -> None:
    shown = _plan(served, tokens[OWNER], SMALL_RESTAURANT)
    unknown_item = _plan(served, tokens[OWNER], "SYJ-9999-99")
    records = {r.request_id: r for r in journal_records(settings.audit_journal)}
    record = records[shown.headers["X-Request-ID"]]
    assert (record.endpoint, record.outcome, record.subject_id, record.gold_version) == (
        "subject_reuse_plan",
        "shown",
        PERSON,
        12,
    )
    assert {"requirements.decision", "requirements.material.file_object_key"} <= set(record.fields_returned)
    assert [(w.field, w.department, w.count) for w in record.fields_withheld] == [
        ("requirements.material.file_object_key", OTHER, 2)
    ]
    refused = records[unknown_item.headers["X-Request-ID"]]
    assert (refused.status, refused.outcome, refused.fields_returned) == (404, "unknown_item", ())
