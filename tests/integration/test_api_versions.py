"""New gold versions over real HTTP: written while clients ask for a profile, each is served without
a restart or an error, and every response comes whole from exactly one version."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from api.main import create_app
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.storage import delta_rs_location
from tests.api_client import bearer_headers
from tests.profile_rows import PERSON, profile_row

pytestmark = pytest.mark.integration

LAST_VERSION = 3
CLIENTS = 4


def _gold(version: int) -> pa.Table:
    # The case count names the version it was written in, so a response shows which it came from.
    return pa.Table.from_pylist([profile_row(PERSON) | {"case_count": 100 + version}])


@pytest.fixture
def settings(hub_settings: Settings, tmp_path: Path) -> Settings:
    # Checked every 50 ms: the check and the load run beside the requests, not in front of them.
    return hub_settings.model_copy(update={"home": tmp_path, "api_refresh_seconds": 0.05})


@pytest.fixture
def served(settings: Settings) -> Iterator[BackgroundServer]:
    location, _ = delta_rs_location(settings, "gold", "subject_profile")
    write_deltalake(location, _gold(0))
    with BackgroundServer(create_app(settings)) as running:
        yield running


def test_new_gold_versions_are_served_while_requests_run_each_response_from_one_version(
    served: BackgroundServer, settings: Settings
) -> None:
    location, _ = delta_rs_location(settings, "gold", "subject_profile")
    headers = bearer_headers(settings, served.url)
    answers: list[list[tuple[int, Any, Any]]] = [[] for _ in range(CLIENTS)]
    done = threading.Event()

    def ask(seen: list[tuple[int, Any, Any]]) -> None:
        with httpx.Client(base_url=served.url, headers=headers, timeout=30) as client:
            while not done.is_set():
                response = client.get(f"/v1/subjects/{PERSON}", params={"purpose": "approval_handling"})
                body = response.json()
                seen.append((response.status_code, body.get("gold_version"), body.get("case_count")))

    clients = [threading.Thread(target=ask, args=(seen,)) for seen in answers]
    for client in clients:
        client.start()
    try:
        for version in range(1, LAST_VERSION + 1):
            time.sleep(0.3)
            write_deltalake(location, _gold(version), mode="overwrite")
        deadline = time.monotonic() + 30
        while not any(a and a[-1][1] == LAST_VERSION for a in answers) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        done.set()
        for client in clients:
            client.join(timeout=30)

    every = [answer for seen in answers for answer in seen]
    assert {status for status, _, _ in every} == {200}
    # Each response is of one version: its data is the data written in the version it names.
    assert all(count == 100 + version for _, version, count in every)
    assert {version for _, version, _ in every} >= {0, LAST_VERSION}
    # A client never goes back to an older version once it saw a newer one.
    for seen in answers:
        versions = [version for _, version, _ in seen]
        assert versions == sorted(versions)
