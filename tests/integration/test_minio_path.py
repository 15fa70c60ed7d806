"""The pipeline with the landing zone, a department's drop bucket and the lakehouse in a real MinIO
server over S3, on local Spark in this process; the API serves what it built. The same jobs on a
Spark standalone cluster are in test_spark_cluster.py."""

import datetime as dt

import httpx
import pytest
from deltalake import DeltaTable

from api.main import create_app
from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.simulator import simulate
from hub.storage import (
    arrow_batches,
    bucket_store,
    delta_rs_location,
    landing_store,
    s3_client,
)
from jobs import pipeline
from tests.api_client import bearer_headers
from tests.conftest import MinioServer

pytestmark = pytest.mark.integration

DEPARTMENTS = ("market_regulation", "food_drug", "health")


def test_pipeline_on_minio_lands_builds_and_serves(
    minio_server: MinioServer,
    hub_settings: Settings,
    spark,
    tmp_path,
) -> None:
    settings = minio_server.settings_for(hub_settings, tmp_path, api_refresh_seconds=0.0)
    day = dt.date(2026, 11, 24)
    simulate(settings, day, seed=11, cases_per_day=150)
    # The health bureau drops its export into its own bucket on the store, over S3.
    dropped = bucket_store(settings, "dept-health").list_keys("exports/")
    assert dropped == ["exports/2026-11-24/cases-0001.json"]

    batches = [pipeline.ingest(settings, d, day) for d in DEPARTMENTS]
    loaded = [pipeline.load_bronze(settings, b) for b in batches]
    pipeline.publish_catalogue(settings)
    reconciled = pipeline.conform_silver(settings, {b["department"]: [b["batch_id"]] for b in loaded})
    pipeline.validate_silver(settings)
    built = pipeline.build_gold(settings)

    # Raw payloads are in the landing bucket, unchanged, next to their manifest.
    prefix = "market_regulation/market_regulation-20261124"
    keys = landing_store(settings).list_keys("market_regulation/")
    assert f"{prefix}/_manifest.json" in keys
    landed = landing_store(settings).get_bytes(f"{prefix}/2026-11-24/cases.csv")
    assert landed == (settings.sources_dir / "market_regulation" / "2026-11-24" / "cases.csv").read_bytes()
    health = landing_store(settings).get_bytes("health/health-20261124/2026-11-24/cases-0001.json")
    assert health == bucket_store(settings, "dept-health").get_bytes(dropped[0])
    # The lakehouse is in the lake bucket, not on local disk.
    lake_objects = [
        o.object_name
        for o in s3_client(settings).list_objects(
            settings.lake_bucket, prefix="gold/subject_profile/_delta_log/", recursive=True
        )
    ]
    assert lake_objects
    assert not (tmp_path / "lake").exists()
    for r in reconciled:
        assert r["rows_in"] == r["rows_valid"] + r["rows_quarantined"]
    assert {r["department"] for r in loaded} == set(DEPARTMENTS)
    assert all(r["rows"] > 0 for r in loaded)

    # delta-rs reads gold straight from S3, and the API serves it.
    location, options = delta_rs_location(settings, "gold", "subject_profile")
    profiles = arrow_batches(DeltaTable(location, storage_options=options)).read_all().to_pylist()
    assert len(profiles) == built["subjects"] > 0
    subject = next(p for p in profiles if len(p["departments"]) >= 2)
    # The API's credentials are on the store too: the client is created in its auth bucket.
    with BackgroundServer(create_app(settings)) as served:
        auth = bearer_headers(settings, served.url)
        body = httpx.get(
            f"{served.url}/v1/subjects/{subject['subject_id']}",
            params={"purpose": "approval_handling"},
            headers=auth,
        ).json()
    assert body["departments"] == sorted(subject["departments"])
    assert {c["department"] for c in body["cases"]} == set(subject["departments"])
