"""API behaviour over real HTTP, with the serving store overridden by a hand-made snapshot.

Requests carry a bearer token a department's client got from `POST /v1/token`; tests/integration/
test_api_auth.py covers what happens without one."""

import httpx
import pytest

from api.deps import get_profile_store
from api.main import create_app
from api.profiles import ProfileSnapshot
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import bearer_headers, problem
from tests.profile_rows import PERSON, profile_row

pytestmark = pytest.mark.integration

PROFILE = profile_row(PERSON)
# Every request for subject data states why; the department these tests call as holds no grant.
PURPOSE = {"purpose": "approval_handling"}


class FixedStore:
    def snapshot(self) -> ProfileSnapshot:
        return ProfileSnapshot(7, {PERSON: PROFILE})


@pytest.fixture(scope="module")
def served(hub_settings: Settings):
    app = create_app(hub_settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def auth(served: BackgroundServer, hub_settings: Settings) -> dict[str, str]:
    return bearer_headers(hub_settings, served.url)


def test_known_subject_returns_profile(served: BackgroundServer, auth: dict[str, str]) -> None:
    response = httpx.get(f"{served.url}/v1/subjects/{PERSON.lower()}", params=PURPOSE, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert (body["subject_id"], body["subject_type"], body["gold_version"]) == (PERSON, "person", 7)
    assert [c["case_id"] for c in body["cases"]] == ["SC2", "SY1"]
    # Times are served in district time.
    assert body["cases"][1]["received_at"] == "2026-11-01T09:00:00+08:00"
    assert body["access"] == {
        "department": "market_regulation",
        "purpose": "approval_handling",
        "grant_ids": [],
        "unmasked": False,
    }


def test_unknown_subject_is_404_with_a_problem(served: BackgroundServer, auth: dict[str, str]) -> None:
    response = httpx.get(f"{served.url}/v1/subjects/91350100M000100Y43", params=PURPOSE, headers=auth)
    body = problem(response, 404)
    assert body["title"] == "Not Found"
    assert body["detail"] == "no subject 91350100M000100Y43 in the hub"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "check character"),
        ("440106202302300011", "not a real date"),
        ("abc", "18 characters"),
    ],
)
def test_malformed_subject_id_is_422_with_reason(
    served: BackgroundServer, auth: dict[str, str], value: str, reason: str
) -> None:
    response = httpx.get(f"{served.url}/v1/subjects/{value}", params=PURPOSE, headers=auth)
    assert reason in problem(response, 422)["detail"]


def test_an_unknown_path_and_a_wrong_method_are_problems_too(
    served: BackgroundServer, auth: dict[str, str]
) -> None:
    assert problem(httpx.get(f"{served.url}/v1/nothing-here", headers=auth), 404)["detail"] == "Not Found"
    wrong_method = httpx.delete(f"{served.url}/v1/subjects/{PERSON}", params=PURPOSE, headers=auth)
    assert problem(wrong_method, 405)["title"] == "Method Not Allowed"


def test_health_needs_no_token(served: BackgroundServer) -> None:
    assert httpx.get(f"{served.url}/health").json() == {"status": "ok", "gold_version": 7, "subjects": 1}
