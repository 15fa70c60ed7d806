"""The credential and grant registries in a real MinIO server over S3: their own bucket, made when
missing, and the API issuing and checking tokens against it."""

import httpx
import pytest

from api.deps import get_profile_store
from api.main import create_app
from hub.credentials import credential_registry
from hub.grants import grant_registry
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.storage import s3_client
from tests.api_client import bearer_headers
from tests.conftest import MinioServer
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import PERSON

pytestmark = pytest.mark.integration


def test_credentials_live_in_the_auth_bucket_on_s3(
    minio_server: MinioServer, hub_settings: Settings, tmp_path
) -> None:
    settings = minio_server.settings_for(hub_settings, tmp_path, auth_bucket="hub-auth-registry")
    registry = credential_registry(settings)
    created = registry.create("human_resources", note="on S3")
    stored = [o.object_name for o in s3_client(settings).list_objects("hub-auth-registry", recursive=True)]
    assert stored == [f"credentials/{created.client_id}.json"]
    assert not (tmp_path / "auth").exists()

    assert registry.verify(created.client_id, created.secret) is not None
    # A missing key on S3 is an unknown client, not an error.
    assert registry.get("human_resources-0123456789abcdef") is None
    assert registry.verify("human_resources-0123456789abcdef", created.secret) is None
    registry.revoke(created.client_id)
    assert registry.verify(created.client_id, created.secret) is None
    assert [c.active for c in credential_registry(settings).list_credentials()] == [False]


def test_the_api_on_s3_authenticates_clients_from_the_auth_bucket(
    minio_server: MinioServer, hub_settings: Settings, tmp_path
) -> None:
    """What tests/integration/test_minio_path.py does with the API, without building a lakehouse."""
    settings = minio_server.settings_for(hub_settings, tmp_path, auth_bucket="hub-auth-api")
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    with BackgroundServer(app) as served:
        url = f"{served.url}/v1/subjects/{PERSON}"
        assert httpx.get(url, params={"purpose": "approval_handling"}).status_code == 401
        response = httpx.get(
            url, params={"purpose": "approval_handling"}, headers=bearer_headers(settings, served.url)
        )
    assert response.status_code == 200
    assert response.json()["subject_id"] == PERSON


def test_grants_live_in_the_auth_bucket_on_s3(
    minio_server: MinioServer, hub_settings: Settings, tmp_path
) -> None:
    settings = minio_server.settings_for(hub_settings, tmp_path, auth_bucket="hub-auth-grants")
    registry = grant_registry(settings)
    grant = registry.create("health", "supervision", approved_by="王主任", basis="agreement 7")
    other = registry.create("food_drug", "statistics", approved_by="王主任", basis="agreement 8")
    stored = [o.object_name for o in s3_client(settings).list_objects("hub-auth-grants", recursive=True)]
    assert sorted(stored) == sorted(
        [f"grants/health/{grant.grant_id}.json", f"grants/food_drug/{other.grant_id}.json"]
    )
    assert registry.for_department("health") == (grant,)
    # A missing key on S3 is an unknown grant, not an error.
    assert registry.get("health-supervision-0123456789abcdef") is None
    registry.revoke(grant.grant_id)
    assert [g.revoked_at is not None for g in grant_registry(settings).list_grants("health")] == [True]
