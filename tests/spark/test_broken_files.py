"""Broken files and schema drift: rejected with the department and file named, recorded in
quality/file_incidents, and everyone else's data goes on into bronze."""

import datetime as dt
from dataclasses import replace

import pytest

from hub.settings import Settings
from hub.simulator import DirtyRates, simulate
from hub.storage import read_table_rows
from jobs import pipeline

pytestmark = pytest.mark.spark

FAULT_DAYS = {
    "truncated_file": dt.date(2026, 11, 16),
    "wrong_encoding": dt.date(2026, 11, 17),
    "renamed_column": dt.date(2026, 11, 18),
}
FILE_DEPARTMENTS = ("market_regulation", "food_drug", "health")


def test_every_broken_file_is_rejected_by_name_and_the_rest_loads(
    hub_settings: Settings, spark, tmp_path
) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path})
    for fault, day in FAULT_DAYS.items():
        simulate(settings, day, seed=6, cases_per_day=40, dirty=replace(DirtyRates.clean(), **{fault: 1.0}))

    for fault, day in FAULT_DAYS.items():
        for department in FILE_DEPARTMENTS:
            loaded = pipeline.load_bronze(settings, pipeline.ingest(settings, department, day))
            assert (loaded["rows"], loaded["rejected"]) == (0, 1), (fault, department)
        # A department with a database interface is not affected by another's broken file.
        healthy = pipeline.load_bronze(settings, pipeline.ingest(settings, "human_resources", day))
        assert healthy["rows"] > 0
        assert healthy["rejected"] == 0

    incidents = read_table_rows(settings, "quality", "file_incidents")
    assert len(incidents) == len(FAULT_DAYS) * len(FILE_DEPARTMENTS)
    for incident in incidents:
        assert incident["file"].startswith(f"{incident['department']}/{incident['batch_id']}/rejected/")
        assert len(incident["sha256"]) == 64
    reasons = {(i["department"], i["batch_id"][-8:]): i["reason"] for i in incidents}
    assert reasons[("market_regulation", "20261116")].startswith("truncated")
    assert reasons[("health", "20261116")].startswith("truncated or malformed JSON")
    assert reasons[("market_regulation", "20261117")] == "wrong encoding: declared gbk but the file is UTF-8"
    assert reasons[("food_drug", "20261117")].startswith("wrong encoding")
    assert reasons[("food_drug", "20261118")].startswith("schema drift: expected field(s) channel missing")
