"""The same pipeline steps with the landing zone and the lakehouse in a real MinIO server over S3."""

import datetime as dt

import httpx
import pytest
from deltalake import DeltaTable

from api.main import create_app
from hub.settings import Settings
from hub.simulator import simulate_day
from hub.storage import delta_rs_location, landing_store, s3_client
from jobs import pipeline
from tests.conftest import MinioServer, ServedApp

pytestmark = pytest.mark.integration


def test_pipeline_on_minio_lands_builds_and_serves(
    minio_server: MinioServer,
    hub_settings: Settings,
    spark,
    tmp_path,
) -> None:
    settings = hub_settings.model_copy(
        update={
            "home": tmp_path,
            "storage": "s3",
            "s3_endpoint": minio_server.endpoint,
            "s3_access_key": minio_server.access_key,
            "s3_secret_key": minio_server.secret_key,
            "api_refresh_seconds": 0.0,
        }
    )
    day = dt.date.today() - dt.timedelta(days=1)
    simulate_day(settings.sources_dir, day, seed=11, subjects=40)

    batches = [pipeline.land(settings, d, day) for d in ("market_regulation", "food_drug")]
    loaded = [pipeline.load_bronze(settings, b) for b in batches]
    reconciled = [pipeline.conform_silver(settings, b["batch_id"], b["department"]) for b in loaded]
    pipeline.validate_silver(settings)
    built = pipeline.build_gold(settings)

    # Raw payloads are in the landing bucket, unchanged, next to their manifest.
    keys = landing_store(settings).list_keys("market_regulation/")
    assert f"market_regulation/{day.isoformat()}/_manifest.json" in keys
    landed = landing_store(settings).get_bytes(f"market_regulation/{day.isoformat()}/cases.csv")
    assert landed == (settings.sources_dir / "market_regulation" / day.isoformat() / "cases.csv").read_bytes()
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

    # delta-rs reads gold straight from S3, and the API serves it.
    location, options = delta_rs_location(settings, "gold", "subject_profile")
    profiles = DeltaTable(location, storage_options=options).to_pyarrow_table().to_pylist()
    assert len(profiles) == built["subjects"] > 0
    subject = next(p for p in profiles if len(p["departments"]) == 2)
    with ServedApp(create_app(settings)) as served:
        body = httpx.get(f"{served.url}/v1/subjects/{subject['subject_id']}").json()
    assert body["departments"] == ["food_drug", "market_regulation"]
    assert {c["department"] for c in body["cases"]} == {"food_drug", "market_regulation"}
