"""Calling the API as a department does: a credential from the registry, a token from `POST /v1/token`.

The server must share the settings' credential store (the same `HUB_HOME`, or the same S3 bucket).
"""

from __future__ import annotations

from typing import Any

import httpx

from hub.credentials import credential_registry
from hub.settings import Settings


def request_token(api_url: str, client_id: str, client_secret: str) -> str:
    response = httpx.post(
        f"{api_url}/v1/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        timeout=30,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def bearer_headers(settings: Settings, api_url: str, department: str = "market_regulation") -> dict[str, str]:
    """Headers that authenticate as a new client of `department`."""
    created = credential_registry(settings).create(department, note="tests")
    return {"Authorization": f"Bearer {request_token(api_url, created.client_id, created.secret)}"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem the response carries, once its status, media type and shape are checked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    assert (body["type"], body["status"], body["instance"]) == ("about:blank", status, response.url.path)
    assert body["title"]
    return body
