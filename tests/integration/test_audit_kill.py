"""Killing the API under load loses no audit record of a response a client received.

The API runs as a process of its own (uvicorn, as deployed) on a hand-made gold table; threads ask
it for profiles, valid and refused, until it is SIGKILLed in the middle of their requests. Every
response a client got must have its record in the journal, with its status, and shipping must
bring every journaled record, from the segment the killed process left open, into the table once.

SIGKILL tests the order (the record is written before the response leaves, and not held in a
buffer of the process); the sync to disk, which a machine crash needs, it cannot tell apart.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from pydantic import SecretStr

from api.tokens import issue_token
from hub.audit import ACCESS_LOG, journal_records, ship
from hub.credentials import credential_registry
from hub.serving import free_port, start_api_process
from hub.settings import Settings
from hub.storage import delta_rs_location
from tests.profile_rows import ENTITY, OWNER, PERSON, profile_row

pytestmark = pytest.mark.integration

SIGNING_KEY = "the-kill-tests-signing-key-0123456789"
THREADS = 6
RESPONSES_BEFORE_THE_KILL = 80
# A profile shown, an unknown subject, a malformed id, a missing purpose: every outcome is journaled.
REQUESTS = [
    (f"/v1/subjects/{PERSON}", {"purpose": "approval_handling"}),
    (f"/v1/subjects/{ENTITY}", {"purpose": "statistics"}),
    ("/v1/subjects/110105194912310021", {"purpose": "approval_handling"}),
    (f"/v1/subjects/{PERSON}", {}),
]


def test_killing_the_api_under_load_loses_no_record_of_a_response_received(
    hub_settings: Settings, tmp_path: Path
) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path, "token_signing_key": SecretStr(SIGNING_KEY)})
    location, _ = delta_rs_location(settings, "gold", "subject_profile")
    write_deltalake(location, pa.Table.from_pylist([profile_row(PERSON)]))
    credential = credential_registry(settings).create(OWNER).credential
    token = issue_token(credential, SIGNING_KEY, dt.timedelta(minutes=15), dt.datetime.now(dt.UTC))
    headers = {"Authorization": f"Bearer {token.access_token}"}

    port = free_port()
    api = start_api_process(
        "api.main:create_app",
        port,
        tmp_path / "api.log",
        {"HUB_HOME": str(settings.home), "HUB_TOKEN_SIGNING_KEY": SIGNING_KEY},
    )
    received: list[tuple[str, int]] = []
    cut_off = threading.Event()

    def load(offset: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
            for i in range(offset, 100_000):
                path, params = REQUESTS[i % len(REQUESTS)]
                try:
                    response = client.get(path, params=params)
                except httpx.HTTPError:
                    cut_off.set()
                    return
                received.append((response.headers["X-Request-ID"], response.status_code))

    threads = [threading.Thread(target=load, args=(n,)) for n in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(received) < RESPONSES_BEFORE_THE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(api.pid, signal.SIGKILL)
        api.wait(timeout=10)
    finally:
        if api.poll() is None:
            api.kill()
            api.wait()
        for thread in threads:
            thread.join(timeout=30)
    assert api.returncode == -signal.SIGKILL
    assert cut_off.is_set()
    assert len(received) >= RESPONSES_BEFORE_THE_KILL
    assert {status for _, status in received} == {200, 404, 422}

    journaled = {r.request_id: r for r in journal_records(settings.audit_journal)}
    missing = [(request_id, status) for request_id, status in received if request_id not in journaled]
    assert missing == []
    assert all(journaled[request_id].status == status for request_id, status in received)
    # The killed process never sealed its segment.
    (left_open,) = settings.audit_journal.glob("*.open.jsonl")

    report = ship(settings)
    assert report.sealed_orphans == [left_open.name.removesuffix(".open.jsonl")]
    assert report.rows == len(journaled)
    table, options = delta_rs_location(settings, *ACCESS_LOG)
    shipped = DeltaTable(table, storage_options=options).to_pyarrow_table(columns=["request_id"])
    assert sorted(shipped.column("request_id").to_pylist()) == sorted(journaled)
    assert list(settings.audit_journal.glob("*.jsonl")) == []
