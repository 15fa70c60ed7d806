"""`hub serve --workers 2`: two processes answer, and a token either issued is honoured by both,
though no signing key was configured (the command makes one for all of them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from hub.credentials import credential_registry
from hub.serving import free_port
from hub.settings import Settings
from hub.storage import delta_rs_location
from tests.profile_rows import OWNER, PERSON, profile_row

pytestmark = pytest.mark.integration

WORKERS = 2


def _serve(home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "HUB_TOKEN_SIGNING_KEY"}
    with log.open("wb") as stderr:
        hub = str(Path(sys.executable).with_name("hub"))
        return subprocess.Popen(
            [hub, "serve", "--port", str(port), "--workers", str(WORKERS)],
            env=env | {"HUB_HOME": str(home)},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def test_two_worker_processes_share_one_signing_key(hub_settings: Settings, tmp_path: Path) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path, "token_signing_key": None})
    location, _ = delta_rs_location(settings, "gold", "subject_profile")
    write_deltalake(location, pa.Table.from_pylist([profile_row(PERSON)]))
    client = credential_registry(settings).create(OWNER)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, port, tmp_path / "serve.log")
    try:
        processes: set[str] = set()
        statuses: list[int] = []
        deadline = time.monotonic() + 120
        while len(processes) < WORKERS or len(statuses) < 20:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, f"{len(processes)} processes answered: {statuses}"
            try:
                # New connections each time, so that either process may take them.
                token = httpx.post(
                    f"{url}/v1/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client.client_id, client.secret),
                ).json()["access_token"]
                response = httpx.get(
                    f"{url}/v1/subjects/{PERSON}",
                    params={"purpose": "approval_handling"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError:
                time.sleep(0.2)  # not listening yet
                continue
            statuses.append(response.status_code)
            # A request id's first half names the process that made it (hub.audit.new_id).
            processes.add(response.headers["X-Request-ID"][:16])
        assert set(statuses) == {200}
        assert len(processes) == WORKERS
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
