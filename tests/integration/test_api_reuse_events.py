"""`POST /v1/reuse-events` over real HTTP: windows' decisions on the materials on file of a hand-made
profile, checked against it and the catalogue, refused with a reason when wrong, journalled before
the answer and shipped to `feedback/reuse_event` (read back with delta-rs) once per event, however
often a window sent it; and audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from deltalake import DeltaTable
from fastapi import FastAPI

from api.deps import get_profile_store
from api.main import create_app
from api.profiles import ProfileSnapshot
from hub import feedback
from hub.audit import journal_records
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.storage import delta_rs_location
from tests.api_client import bearer_headers, problem
from tests.catalogue_rows import FOOD_STALL, write_catalogue
from tests.profile_rows import ENTITY, OTHER, OWNER, PERSON, profile_row

pytestmark = pytest.mark.integration

PURPOSE = "approval_handling"
WINDOW = "health"


class ProfileStore:
    def snapshot(self) -> ProfileSnapshot:
        return ProfileSnapshot(12, {PERSON: profile_row()})


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hub_settings.model_copy(update={"home": Path(tmp_path_factory.mktemp("reuse-events-home"))})
    write_catalogue(settings)
    return settings


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = ProfileStore
    return app


@pytest.fixture(scope="module")
def served(app: FastAPI) -> Iterator[BackgroundServer]:
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def headers(served: BackgroundServer, settings: Settings) -> dict[str, str]:
    return bearer_headers(settings, served.url, WINDOW)


def _event(**changes: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "subject_id": PERSON.lower(),  # normalised by the API
        "item_code": FOOD_STALL,
        "case_id": "HL-2026-000042",
        "material_type": "health_certificate",
        "material_id": "SY1-03",
        "decision": "accepted",
        "occurred_at": "2026-11-26T10:15:00+08:00",
    } | changes


def _post(served: BackgroundServer, headers: dict[str, str], body: Any, **params: str) -> httpx.Response:
    return httpx.post(
        f"{served.url}/v1/reuse-events",
        params={"purpose": PURPOSE} | params,
        headers=headers,
        json=body,
        timeout=30,
    )


def test_events_are_recorded_checked_and_shipped_once_each(
    app: FastAPI, served: BackgroundServer, settings: Settings, headers: dict[str, str]
) -> None:
    accepted = _event()
    response = _post(served, headers, accepted)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["event_id"], body["subject_id"], body["issuing_department"], body["gold_version"]) == (
        accepted["event_id"],
        PERSON,
        OWNER,
        12,
    )
    assert response.headers["X-Request-ID"]
    # Named by its hash, as the reuse plan showed it, instead of its id.
    rejected = _event(
        material_type="id_card_copy",
        material_id=None,
        sha256="cd" * 32,
        decision="rejected",
        reason="illegible",
        note="复印件模糊，无法辨认",
    )
    answer = _post(served, headers, rejected)
    assert answer.status_code == 202, answer.text
    assert (answer.json()["material_id"], answer.json()["issuing_department"]) == ("SC2-01", OTHER)
    # The window did not hear back and sends the acceptance again, then once more, changed.
    for retry in (accepted, accepted | {"decision": "rejected", "reason": "expired"}):
        again = _post(served, headers, retry)
        assert again.status_code == 202, again.text
        assert again.json()["event_id"] == accepted["event_id"]

    # Sealed as the API seals it on stopping or on time (an open segment is its process's).
    app.state.feedback_journal.close()
    report = feedback.ship(settings)
    assert (report.rows, len(report.shipped)) == (2, 1)
    location, options = delta_rs_location(settings, *feedback.REUSE_EVENT)
    rows = {
        r["event_id"]: r for r in DeltaTable(location, storage_options=options).to_pyarrow_table().to_pylist()
    }
    assert set(rows) == {accepted["event_id"], rejected["event_id"]}
    first = rows[accepted["event_id"]]
    assert (first["decision"], first["reason"], first["department"], first["case_id"]) == (
        "accepted",
        None,
        WINDOW,
        "HL-2026-000042",
    )
    assert (first["material_type"], first["issuing_department"], first["subject_id"]) == (
        "health_certificate",
        OWNER,
        PERSON,
    )
    second = rows[rejected["event_id"]]
    assert (second["decision"], second["reason"], second["note"]) == (
        "rejected",
        "illegible",
        rejected["note"],
    )
    # Shipping again adds nothing.
    assert feedback.ship(settings).rows == 0


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"material_id": "SY1-99"}, 404, f"no such health_certificate of {PERSON} on file"),
        ({"subject_id": ENTITY}, 404, f"no such health_certificate of {ENTITY} on file"),
        ({"decision": "rejected"}, 422, "a rejection needs its reason, one of: content_mismatch, expired"),
        ({"decision": "rejected", "reason": "torn"}, 422, "unknown reason 'torn'"),
        ({"decision": "rejected", "reason": "other"}, 422, "reason other needs a note"),
        ({"note": "太长" * 251}, 422, "body note: String should have at most 500 characters"),
        ({"material_type": "power_of_attorney"}, 422, "asks for a new power_of_attorney every time"),
        ({"material_type": "floor_plan"}, 422, f"item {FOOD_STALL} does not require floor_plan"),
        ({"material_type": "scroll"}, 422, "unknown material_type 'scroll'"),
        ({"item_code": "SYJ-9999-99"}, 422, "no item SYJ-9999-99 in the catalogue"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, 422, "is in the future"),
        ({"occurred_at": "2026-11-26T10:15:00"}, 422, "body occurred_at"),
        ({"subject_id": "110105194912310021"}, 422, "check character"),
        ({"event_id": "twice"}, 422, "body event_id"),
    ],
)
def test_a_wrong_event_is_refused_with_its_reason(
    served: BackgroundServer, headers: dict[str, str], changes: dict[str, Any], status: int, reason: str
) -> None:
    assert reason in problem(_post(served, headers, _event(**changes)), status)["detail"]


def test_malformed_json_no_token_and_no_purpose_are_refused(
    served: BackgroundServer, headers: dict[str, str]
) -> None:
    malformed = httpx.post(
        f"{served.url}/v1/reuse-events",
        params={"purpose": PURPOSE},
        headers=headers | {"Content-Type": "application/json"},
        content=b'{"event_id": ',
    )
    assert "JSON decode error" in problem(malformed, 422)["detail"]
    not_utf8 = httpx.post(
        f"{served.url}/v1/reuse-events",
        params={"purpose": PURPOSE},
        headers=headers | {"Content-Type": "application/json"},
        content=b'{"event_id": "\xff"}',
    )
    assert problem(not_utf8, 400)["detail"] == "the body could not be read: JSON text in UTF-8 is expected"
    documented = httpx.get(f"{served.url}/openapi.json").json()["paths"]["/v1/reuse-events"]["post"]
    assert "400" in documented["responses"]
    assert problem(_post(served, headers, [1, 2]), 422)["detail"]
    assert problem(_post(served, {}, _event()), 401)["detail"]
    no_purpose = httpx.post(f"{served.url}/v1/reuse-events", headers=headers, json=_event())
    assert "query purpose: Field required" in problem(no_purpose, 422)["detail"]


def test_an_event_is_audited_as_an_access_to_the_subject(
    served: BackgroundServer, settings: Settings, headers: dict[str, str]
) -> None:
    assert _post(served, headers, _event(material_id="SY1-99")).status_code == 404
    assert _post(served, headers, _event()).status_code == 202
    records = [r for r in journal_records(settings.audit_journal, PERSON) if r.endpoint == "reuse_event"]
    outcomes = [(r.outcome, r.status, r.department, r.purpose) for r in records[-2:]]
    assert outcomes == [("not_found", 404, WINDOW, PURPOSE), ("shown", 202, WINDOW, PURPOSE)]
    assert records[-1].fields_returned == ("material_id", "material_type", "issuing_department")
