"""Change rows that commit late, with an update time a day old, reach bronze when each day's pull
runs at the end of that day: the pull reads the landed day before again and bronze keeps only
the rows it has not seen, so every row lands once."""

import datetime as dt
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from pyspark.sql import functions as F

from hub.serving import BackgroundServer
from hub.settings import Settings
from hub.simulator import DirtyRates, simulate
from hub.simulator.service import create_department_api
from hub.storage import table_uri
from jobs import pipeline

pytestmark = pytest.mark.integration

FIRST = dt.date(2026, 10, 12)
DAYS = 3
# Where each department's records keep their update time, and their change row's number.
UPDATED = {"housing_construction": "$.modify_time", "human_resources": "$.GXSJ"}
ROW_ID = {"housing_construction": "$.change_id", "human_resources": "$.XH"}


def _day_start(department: str, day: dt.date) -> object:
    start = dt.datetime.combine(day, dt.time(), dt.timezone(dt.timedelta(hours=8)))
    # Compared as text: epoch milliseconds of these years all have 13 digits.
    return (
        str(int(start.timestamp() * 1000)) if department == "housing_construction" else f"{day:%Y%m%d}000000"
    )


def test_late_change_rows_are_landed_once(hub_settings: Settings, spark, tmp_path) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path})
    api = BackgroundServer(create_department_api(settings.sources_dir / "housing_construction" / "system.db"))
    loaded: list[dict[str, Any]] = []
    with api:
        settings = settings.model_copy(
            update={"source_urls": {"housing_construction": f"{api.url}/api/v1/cases"}}
        )

        def pull(day: dt.date) -> None:
            for department in UPDATED:
                loaded.append(pipeline.load_bronze(settings, pipeline.ingest(settings, department, day)))

        dirty = replace(DirtyRates.clean(), late=0.15, out_of_order=0.15, duplicate=0.05)
        sent = simulate(settings, FIRST, days=DAYS, seed=8, cases_per_day=60, dirty=dirty, after_day=pull)

    bronze = spark.read.format("delta").load(table_uri(settings, "bronze", "case_record"))
    for department, updated in UPDATED.items():
        rows = bronze.where(F.col("_department") == department)
        days_sent = [s for s in sent if s.department == department]
        assert rows.count() == sum(s.records for s in days_sent)
        # No change row twice, though every pull after the first read the day before again.
        ids = Counter(r[0] for r in rows.select(F.get_json_object("record", ROW_ID[department])).collect())
        assert ids
        assert ids.most_common(1)[0][1] == 1
        # The rows held back on a day (not the last) committed the next day with their old time;
        # each of them is in the next day's batch although its update time is in the day before.
        late = sum(s.faults.get("late", 0) for s in days_sent[:-1])
        caught = 0
        for day in (FIRST + dt.timedelta(days=n) for n in range(1, DAYS)):
            batch = rows.where(F.col("_batch_id") == f"{department}-{day:%Y%m%d}")
            caught += batch.where(
                F.get_json_object("record", updated) < F.lit(_day_start(department, day))
            ).count()
        assert caught >= late > 0
    read_again = {d: sum(b["already_landed"] for b in loaded if b["department"] == d) for d in UPDATED}
    assert all(n > 0 for n in read_again.values()), read_again
