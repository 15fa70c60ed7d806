"""Material downloads on a real MinIO server: the link is the object store's presigned URL, which
downloads the file's bytes and stops working when it expires."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest

from api.deps import get_profile_store
from api.main import create_app
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.storage import s3_client
from tests.api_client import bearer_headers, problem
from tests.conftest import MinioServer
from tests.integration.test_api_http import FixedStore
from tests.profile_rows import OTHER, OWNER, PERSON

pytestmark = pytest.mark.integration

HEALTH_CERTIFICATE = b"%PDF-1.7 health certificate, in the materials bucket"
LINK_SECONDS = 2


def test_a_presigned_link_downloads_the_file_until_it_expires(
    minio_server: MinioServer, hub_settings: Settings, tmp_path: Path
) -> None:
    settings = minio_server.settings_for(
        hub_settings,
        tmp_path,
        auth_bucket="hub-auth-materials",
        materials_bucket="hub-materials-links",
        material_link_seconds=LINK_SECONDS,
    )
    client = s3_client(settings)
    client.make_bucket(settings.materials_bucket)
    client.put_object(
        settings.materials_bucket,
        "materials/ab/abcd.pdf",
        io.BytesIO(HEALTH_CERTIFICATE),
        length=len(HEALTH_CERTIFICATE),
    )
    app = create_app(settings)
    app.dependency_overrides[get_profile_store] = FixedStore
    with BackgroundServer(app) as served:
        headers = bearer_headers(settings, served.url, OWNER)
        response = httpx.get(
            f"{served.url}/v1/subjects/{PERSON}/materials/health_certificate/download",
            params={"purpose": "approval_handling"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        # At once: the link works for LINK_SECONDS from its signing.
        fetched = httpx.get(response.json()["url"])
        missing = httpx.get(
            f"{served.url}/v1/subjects/{PERSON}/materials/id_card_copy/download",
            params={"purpose": "approval_handling"},
            headers=bearer_headers(settings, served.url, OTHER),
        )
        # On S3 the API serves no files itself.
        no_local_files = httpx.get(
            f"{served.url}/v1/material-files/materials/ab/abcd.pdf?expires=1&signature=0"
        )
    body = response.json()
    assert body["expires_in"] == LINK_SECONDS
    assert body["url"].startswith(
        f"{minio_server.endpoint}/{settings.materials_bucket}/materials/ab/abcd.pdf?"
    )
    assert "X-Amz-Signature=" in body["url"]
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == HEALTH_CERTIFICATE

    time.sleep(LINK_SECONDS + 1.5)
    expired = httpx.get(body["url"])
    assert expired.status_code == 403
    assert b"expired" in expired.content

    assert "not in the object store" in problem(missing, 404)["detail"]
    problem(no_local_files, 404)
