"""The hub's jobs in a process of their own, configured only by its environment (HUB_SPARK_MASTER,
HUB_STORAGE, HUB_S3_*): what a department's ingestion DAG run and the lakehouse build it triggers
call, for one department and day, without Airflow's start-up. The last line it prints is a JSON
summary: the Spark application it ran as, and what each step reported.

    python -m tests.cluster_build <department> <YYYY-MM-DD>
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from hub.logs import configure_logging
from hub.settings import get_settings
from jobs import pipeline
from jobs.spark import get_spark


def build(department: str, day: dt.date) -> dict[str, Any]:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    loaded = pipeline.load_bronze(settings, pipeline.ingest(settings, department, day))
    pipeline.publish_catalogue(settings)
    pending: dict[str, list[str]] = {}
    for pending_department, batch_id in pipeline.pending_batches(settings):
        pending.setdefault(pending_department, []).append(batch_id)
    reconciled = pipeline.conform_silver(settings, pending)
    built = pipeline.build_gold(settings)
    context = get_spark(settings).sparkContext
    return {
        "application_id": context.applicationId,
        "master": context.master,
        "loaded": loaded,
        "reconciled": reconciled,
        "built": built,
    }


if __name__ == "__main__":
    summary = build(sys.argv[1], dt.date.fromisoformat(sys.argv[2]))
    get_spark(get_settings()).stop()
    print(json.dumps(summary, default=str))
