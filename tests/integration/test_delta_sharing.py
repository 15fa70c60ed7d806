"""The analyst marts read over HTTP with the real `delta-sharing` client, as an analyst does: a
profile file from the recipient registry, the API served by uvicorn, gold marts written with
delta-rs (the API's read path is what is under test, so no Spark)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import delta_sharing
import httpx
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from requests import HTTPError

from api.main import create_app
from hub.analyst_marts import mart_location
from hub.credentials import utc_now
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.sharing import RecipientRegistry, load_shares, write_profile
from hub.storage import auth_store, s3_client
from tests.conftest import MinioServer

pytestmark = pytest.mark.integration

K = 5


def _supervision_monthly() -> pa.Table:
    return pa.table(
        {
            "month": ["2026-10", "2026-10"],
            "department": ["small_dept", "large_dept"],
            "rule": ["red_card", "red_card"],
            "raised": pa.array([2, 40], pa.int64()),
            "cleared": pa.array([1, 31], pa.int64()),
            "subjects": pa.array([2, 35], pa.int64()),
        }
    )


def _throughput_monthly() -> pa.Table:
    counts = ("received", "accepted", "materials_reused", "visits_saved", "decided", "on_time", "overdue")
    rows: list[dict[str, Any]] = []
    for channel, subjects in (("online", 12), ("window", 3)):
        row: dict[str, Any] = dict.fromkeys(counts, subjects * 2)
        row |= {
            "period": dt.date(2026, 10, 1),
            "department": "market_regulation",
            "item_code": "I1",
            "channel": channel,
            "handling_tier": "district",
            "median_working_days": 2.0,
            "p90_working_days": 4.5,
            "median_promised_days": 5.0,
            "supplement_requests": 1,
            "backlog": 7,
            "subjects": subjects,
        }
        rows.append(row)
    longs = {c: pa.int64() for c in (*counts, "supplement_requests", "backlog", "subjects")}
    doubles = dict.fromkeys(("median_working_days", "p90_working_days", "median_promised_days"), pa.float64())
    strings = dict.fromkeys(("department", "item_code", "channel", "handling_tier"), pa.string())
    schema = pa.schema({"period": pa.date32(), **strings, **longs, **doubles})
    return pa.Table.from_pylist(rows, schema=schema)


def _serve(settings: Settings) -> BackgroundServer:
    """The API over gold's supervision_monthly and throughput_monthly, written with delta-rs."""
    marts = {"supervision_monthly": _supervision_monthly(), "throughput_monthly": _throughput_monthly()}
    for name, rows in marts.items():
        location, options = mart_location(settings, name)
        write_deltalake(location, rows, storage_options=options)
    return BackgroundServer(create_app(settings))


@pytest.fixture(scope="module")
def sharing(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("sharing-home")
    settings = hub_settings.model_copy(update={"home": home, "small_cell_k": K})
    with _serve(settings) as server:
        yield settings, server


def _profile(
    sharing: tuple[Settings, BackgroundServer],
    name: str,
    share: str,
    *,
    ago: dt.timedelta = dt.timedelta(),
    days: int = 30,
) -> str:
    """A recipient's profile file; `ago` backdates the recipient's creation."""
    settings, server = sharing
    created = utc_now() - ago
    registry = RecipientRegistry(auth_store(settings), load_shares(settings.sharing_config), lambda: created)
    added = registry.add(name, share, days=days)
    path = settings.home / f"{name}.share"
    write_profile(path, added.profile(f"{server.url}/delta-sharing"))
    return str(path)


@pytest.fixture(scope="module")
def analytics(sharing) -> str:
    return _profile(sharing, "statistics-bureau", "analytics")


def test_a_recipient_lists_its_share_and_reads_a_mart_with_small_cells_suppressed(analytics: str) -> None:
    client = delta_sharing.SharingClient(analytics)
    tables = {f"{t.share}.{t.schema}.{t.name}" for t in client.list_all_tables()}
    assert tables == {
        "analytics.throughput.throughput_monthly",
        "analytics.throughput.throughput_daily",
        "analytics.service_quality.evaluation_summary",
        "analytics.supervision.supervision_monthly",
    }
    frame = delta_sharing.load_as_pandas(f"{analytics}#analytics.supervision.supervision_monthly")
    rows = {r["department"]: r for r in frame.to_dict("records")}
    small, large = rows["small_dept"], rows["large_dept"]
    assert small["suppressed"]
    assert all(pd_null(small[c]) for c in ("raised", "cleared", "subjects"))
    assert (small["month"], small["rule"]) == ("2026-10", "red_card")
    assert not large["suppressed"]
    assert (large["raised"], large["cleared"], large["subjects"]) == (40, 31, 35)


def _error(error: HTTPError) -> dict[str, Any]:
    """The server's error body the client's exception carries."""
    assert error.response is not None
    body: dict[str, Any] = error.response.json()
    return body


def pd_null(value: object) -> bool:
    """pandas reads a null integer or float as NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_dates_and_every_measure_survive_the_round_trip(analytics: str) -> None:
    frame = delta_sharing.load_as_pandas(f"{analytics}#analytics.throughput.throughput_monthly")
    rows = {r["channel"]: r for r in frame.to_dict("records")}
    assert rows["online"]["period"] == dt.date(2026, 10, 1)
    assert (rows["online"]["received"], rows["online"]["p90_working_days"]) == (24, 4.5)
    # 3 applicants received through the window: below k, every figure withheld.
    assert rows["window"]["suppressed"]
    assert pd_null(rows["window"]["received"])
    assert pd_null(rows["window"]["backlog"])


def test_a_mart_not_yet_built_is_a_404_with_the_protocols_error_code(analytics: str) -> None:
    with pytest.raises(HTTPError, match="404") as raised:
        delta_sharing.load_as_pandas(f"{analytics}#analytics.throughput.throughput_daily")
    assert _error(raised.value)["errorCode"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_token_for_one_share_cannot_read_another(sharing) -> None:
    profile = _profile(sharing, "supervision-office", "supervision")
    client = delta_sharing.SharingClient(profile)
    assert [s.name for s in client.list_shares()] == ["supervision"]
    with pytest.raises(HTTPError, match="403") as raised:
        client.list_schemas(delta_sharing.Share("analytics"))
    assert "this token is for share 'supervision', not 'analytics'" in _error(raised.value)["message"]
    with pytest.raises(HTTPError, match="403"):
        delta_sharing.load_as_pandas(f"{profile}#analytics.throughput.throughput_monthly")


def test_an_expired_or_unknown_token_is_refused_with_the_reason(sharing) -> None:
    expired = _profile(sharing, "last-year", "analytics", ago=dt.timedelta(days=40), days=30)
    with pytest.raises(HTTPError, match="401") as raised:
        delta_sharing.SharingClient(expired).list_shares()
    assert "expired" in _error(raised.value)["message"]
    forged = json.loads(Path(expired).read_text()) | {"bearerToken": "statistics-bureau.guessed"}
    Path(expired).write_text(json.dumps(forged))
    with pytest.raises(HTTPError, match="401"):
        delta_sharing.SharingClient(expired).list_shares()


def test_the_version_header_and_a_tampered_file_link(sharing, analytics: str) -> None:
    _, server = sharing
    token = json.loads(Path(analytics).read_text())["bearerToken"]
    headers = {"Authorization": f"Bearer {token}"}
    table = f"{server.url}/delta-sharing/shares/analytics/schemas/supervision/tables/supervision_monthly"
    assert httpx.head(f"{table}/version", headers=headers).headers["delta-table-version"] == "0"
    answer = httpx.post(f"{table}/query", headers=headers, json={})
    assert answer.headers["delta-table-version"] == "0"
    protocol, metadata, file = (json.loads(line) for line in answer.text.splitlines())
    assert protocol == {"protocol": {"minReaderVersion": 1}}
    assert metadata["metaData"]["format"] == {"provider": "parquet"}
    url = file["file"]["url"]
    # The link names the suppressed snapshot, never a gold file.
    assert "/delta-sharing/files/supervision_monthly/" in url
    assert httpx.get(url).status_code == 200
    tampered = url[:-1] + ("1" if url.endswith("0") else "0")
    assert httpx.get(tampered).status_code == 403
    later = httpx.post(f"{table}/query", headers=headers, json={"version": 5})
    assert (later.status_code, later.json()["errorCode"]) == (400, "INVALID_PARAMETER_VALUE")
    changes = httpx.post(f"{table}/query", headers=headers, json={"startingVersion": 0})
    assert "only the latest version or a `version`" in changes.json()["message"]


def test_on_s3_the_client_fetches_the_snapshot_by_a_presigned_url(
    minio_server: MinioServer, hub_settings: Settings, tmp_path: Path
) -> None:
    settings = hub_settings.model_copy(
        update={
            "home": tmp_path,
            "storage": "s3",
            "s3_endpoint": minio_server.endpoint,
            "s3_access_key": minio_server.access_key,
            "s3_secret_key": minio_server.secret_key,
            "lake_bucket": "hub-lake-sharing",
            "auth_bucket": "hub-auth-sharing",
            "small_cell_k": K,
        }
    )
    s3_client(settings).make_bucket(settings.lake_bucket)
    with _serve(settings) as server:
        profile = _profile((settings, server), "statistics-bureau", "analytics")
        frame = delta_sharing.load_as_pandas(f"{profile}#analytics.supervision.supervision_monthly")
        token = json.loads(Path(profile).read_text())["bearerToken"]
        answer = httpx.post(
            f"{server.url}/delta-sharing/shares/analytics/schemas/supervision/tables/supervision_monthly/query",
            headers={"Authorization": f"Bearer {token}"},
            json={},
        )
    rows = {r["department"]: r for r in frame.to_dict("records")}
    assert rows["small_dept"]["suppressed"]
    assert pd_null(rows["small_dept"]["raised"])
    assert rows["large_dept"]["raised"] == 40
    url = json.loads(answer.text.splitlines()[2])["file"]["url"]
    assert url.startswith(f"{minio_server.endpoint}/hub-lake-sharing/sharing/supervision_monthly/")
    assert "X-Amz-Signature=" in url
