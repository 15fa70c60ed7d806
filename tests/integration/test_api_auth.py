"""Authentication over real HTTP: a department's client gets a token at POST /v1/token (RFC 6749
§4.4) and the subject profile answers only to a valid, unexpired token of a client still active."""

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.deps import get_profile_store
from api.main import create_app
from api.tokens import issue_token
from hub.credentials import NewCredential, credential_registry
from hub.serving import BackgroundServer
from hub.settings import Settings
from tests.api_client import problem, request_token
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import PERSON

pytestmark = pytest.mark.integration

SIGNING_KEY = "the-test-servers-signing-key-0123456789"
TOKEN_URL = "/v1/token"
PROFILE_URL = f"/v1/subjects/{PERSON}?purpose=approval_handling"
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # No registry cache, so a revocation shows on the next request and the test need not wait.
    return hub_settings.model_copy(
        update={
            "home": Path(tmp_path_factory.mktemp("auth-home")),
            "token_signing_key": SecretStr(SIGNING_KEY),
            "credential_cache_seconds": 0.0,
        }
    )


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def client(settings: Settings) -> NewCredential:
    return credential_registry(settings).create("food_drug", note="test window")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_good_token_gets_the_profile(served: BackgroundServer, client: NewCredential) -> None:
    response = httpx.post(
        f"{served.url}{TOKEN_URL}", data=CLIENT_CREDENTIALS, auth=(client.client_id, client.secret)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert response.headers["Cache-Control"] == "no-store"
    profile = httpx.get(f"{served.url}{PROFILE_URL}", headers=_bearer(body["access_token"]))
    assert profile.status_code == 200
    assert profile.json()["subject_id"] == PERSON


def test_client_credentials_in_form_fields_work_too(served: BackgroundServer, client: NewCredential) -> None:
    form = CLIENT_CREDENTIALS | {"client_id": client.client_id, "client_secret": client.secret}
    response = httpx.post(f"{served.url}{TOKEN_URL}", data=form)
    assert response.status_code == 200
    profile = httpx.get(f"{served.url}{PROFILE_URL}", headers=_bearer(response.json()["access_token"]))
    assert profile.status_code == 200


def test_no_token_is_401_with_a_bearer_challenge(served: BackgroundServer) -> None:
    response = httpx.get(f"{served.url}{PROFILE_URL}")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="approval-hub"'
    assert "bearer token is required" in problem(response, 401)["detail"]


def test_another_scheme_is_taken_as_no_token(served: BackgroundServer, client: NewCredential) -> None:
    response = httpx.get(f"{served.url}{PROFILE_URL}", auth=(client.client_id, client.secret))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="approval-hub"'


def test_a_malformed_subject_id_without_a_token_is_401_not_422(served: BackgroundServer) -> None:
    assert httpx.get(f"{served.url}/v1/subjects/abc").status_code == 401


def test_a_garbage_token_is_401(served: BackgroundServer) -> None:
    response = httpx.get(f"{served.url}{PROFILE_URL}", headers=_bearer("not.a.token"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "not valid" in response.json()["detail"]


def test_an_expired_token_is_401(served: BackgroundServer, client: NewCredential) -> None:
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    expired = issue_token(client.credential, SIGNING_KEY, dt.timedelta(minutes=15), an_hour_ago)
    response = httpx.get(f"{served.url}{PROFILE_URL}", headers=_bearer(expired.access_token))
    assert problem(response, 401)["detail"] == "the token has expired"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_signed_with_another_key_is_401(served: BackgroundServer, client: NewCredential) -> None:
    forged = issue_token(client.credential, "x" * 40, dt.timedelta(minutes=15), dt.datetime.now(dt.UTC))
    response = httpx.get(f"{served.url}{PROFILE_URL}", headers=_bearer(forged.access_token))
    assert response.status_code == 401
    assert "signature" in response.json()["detail"]


def test_a_revoked_clients_token_is_401_and_it_gets_no_new_one(
    served: BackgroundServer, settings: Settings
) -> None:
    registry = credential_registry(settings)
    revoked = registry.create("health")
    token = request_token(served.url, revoked.client_id, revoked.secret)
    assert httpx.get(f"{served.url}{PROFILE_URL}", headers=_bearer(token)).status_code == 200
    registry.revoke(revoked.client_id)
    response = httpx.get(f"{served.url}{PROFILE_URL}", headers=_bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    again = httpx.post(
        f"{served.url}{TOKEN_URL}", data=CLIENT_CREDENTIALS, auth=(revoked.client_id, revoked.secret)
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"


def test_a_wrong_secret_and_an_unknown_client_get_the_same_invalid_client(
    served: BackgroundServer, client: NewCredential
) -> None:
    wrong_secret = httpx.post(
        f"{served.url}{TOKEN_URL}", data=CLIENT_CREDENTIALS, auth=(client.client_id, client.secret[:-1])
    )
    unknown = httpx.post(
        f"{served.url}{TOKEN_URL}",
        data=CLIENT_CREDENTIALS,
        auth=("food_drug-0123456789abcdef", client.secret),
    )
    for response in (wrong_secret, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="approval-hub"'
        assert response.json()["error"] == "invalid_client"
    assert wrong_secret.json() == unknown.json()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        # HTTP Basic as well as form fields: RFC 6749 §2.3 allows one method per request.
        ({"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, "invalid_request"),
    ],
    ids=["wrong grant type", "no grant type", "two authentication methods"],
)
def test_a_malformed_token_request_is_400(
    served: BackgroundServer, client: NewCredential, form: dict[str, str], error: str
) -> None:
    response = httpx.post(f"{served.url}{TOKEN_URL}", data=form, auth=(client.client_id, client.secret))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic !!"}, {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}],
    ids=["no client authentication", "bad base64", "no colon"],
)
def test_a_token_request_without_usable_client_authentication_is_invalid_client(
    served: BackgroundServer, headers: dict[str, str]
) -> None:
    response = httpx.post(f"{served.url}{TOKEN_URL}", data=CLIENT_CREDENTIALS, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_the_openapi_document_declares_the_client_credentials_flow(served: BackgroundServer) -> None:
    document = httpx.get(f"{served.url}/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["departmentClient"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == TOKEN_URL
    # The token endpoint answers errors in OAuth2's shape, not as problems.
    token_errors = document["paths"][TOKEN_URL]["post"]["responses"]
    assert set(token_errors) == {"200", "400", "401"}
    assert token_errors["400"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/TokenErrorPublic"}}
    }
    assert document["paths"]["/v1/subjects/{subject_id}"]["get"]["security"] == [{"departmentClient": []}]
    assert "security" not in document["paths"]["/health"]["get"]
