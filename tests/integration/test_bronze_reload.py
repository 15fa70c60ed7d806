"""A rebuild loads each department's landed batches in one write and gets the same bronze as the
ingestion DAGs' batch-by-batch loads: every record once, with the same lineage."""

import datetime as dt
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.serving import BackgroundServer
from hub.settings import Settings, get_settings
from hub.simulator import DirtyRates, simulate
from hub.simulator.service import create_department_api
from hub.storage import read_table_rows
from jobs import pipeline

pytestmark = pytest.mark.integration

DAYS = (dt.date(2026, 11, 19), dt.date(2026, 11, 20))
# A CSV export, JSON documents in a bucket, and an HTTP API that looks back a day.
# Changes committed late, with an earlier update time: the next day's pull reads them again.
LATE = replace(DirtyRates.clean(), late=0.15, out_of_order=0.15, duplicate=0.05)
DEPARTMENTS = ("market_regulation", "health", "housing_construction")


def bronze_rows(settings: Settings) -> list[tuple[object, ...]]:
    rows = read_table_rows(settings, "bronze", "case_record")
    return sorted(tuple(r[c] for c in sorted(r)) for r in rows)


def test_reloading_the_landing_zone_gives_the_bronze_batch_loads_gave(
    hub_settings: Settings, spark, tmp_path, monkeypatch
) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path})
    loaded: dict[str, int] = {}
    already_landed = 0
    # The housing bureau is pulled over HTTP, looking back a day: a rebuild loads it batch by batch.
    api = BackgroundServer(create_department_api(settings.sources_dir / "housing_construction" / "system.db"))
    with api:
        settings = settings.model_copy(
            update={"source_urls": {"housing_construction": f"{api.url}/api/v1/cases"}}
        )
        for day in DAYS:
            simulate(settings, day, seed=8, cases_per_day=40, dirty=LATE)
            for department in DEPARTMENTS:
                batch = pipeline.load_bronze(settings, pipeline.ingest(settings, department, day))
                loaded[department] = loaded.get(department, 0) + batch["rows"]
                already_landed += batch["already_landed"]
    by_batch = bronze_rows(settings)
    assert len(by_batch) == sum(loaded.values()) > 0
    assert already_landed > 0, "the second day's pull read some of the first day's rows again"
    # Each record names its batch and the checksum of the very file it was read from.
    checksums: dict[str, str] = {}
    for row in read_table_rows(settings, "bronze", "case_record"):
        path = unquote(urlparse(row["_source_file"]).path)
        checksums.setdefault(path, hashlib.sha256(Path(path).read_bytes()).hexdigest())
        assert row["_source_sha256"] == checksums[path], row["_source_file"]
        assert row["_batch_id"].startswith(row["_department"]), row["_source_file"]

    # The CLI's settings are the environment's: the same home, and the same source address (each
    # record names the source it came from).
    environment = {
        "HUB_HOME": str(tmp_path),
        "HUB_STORAGE": settings.storage,
        "HUB_SOURCE_URLS": json.dumps(settings.source_urls),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["lake", "reload-bronze", *DEPARTMENTS])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    for department, rows in loaded.items():
        assert f"{department}: {rows} records in bronze" in result.output
    assert bronze_rows(settings) == by_batch
