"""The jobs on a Spark standalone cluster (a master and a worker from the pyspark distribution, on
127.0.0.1) with the lakehouse in a real MinIO server, changed only by configuration; the server
goes down mid-build and comes back."""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from hub.settings import REPO_ROOT, Settings
from hub.simulator import simulate
from hub.storage import ensure_buckets, read_table_rows, s3_client
from jobs import pipeline
from tests.conftest import MinioServer, SparkCluster, start_minio

pytestmark = pytest.mark.integration


class MinioOutage(threading.Thread):
    """Stops the MinIO server once `trigger` (an object key prefix in the lake bucket) appears, that
    is while the build is writing, and starts it again on the same address and data after
    `down_seconds`; records when, and whether the build was still running then."""

    def __init__(
        self, server: MinioServer, settings: Settings, trigger: str, build: subprocess.Popen[bytes]
    ) -> None:
        super().__init__(daemon=True)
        self.server, self.settings, self.trigger, self.build = server, settings, trigger, build
        self.down_seconds = 6.0
        self.stopped_at: float | None = None
        self.restarted_at: float | None = None
        self.running_when_stopped = self.running_when_restarted = False
        self.gold_before_outage = True

    def _exists(self, prefix: str) -> bool:
        objects = s3_client(self.settings).list_objects(
            self.settings.lake_bucket, prefix=prefix, recursive=True
        )
        return next(iter(objects), None) is not None

    def run(self) -> None:
        while self.build.poll() is None:
            if self._exists(self.trigger):
                self.gold_before_outage = self._exists("gold/subject_profile/_delta_log/")
                self.running_when_stopped = self.build.poll() is None
                self.server.stop()
                self.stopped_at = time.monotonic()
                time.sleep(self.down_seconds)
                self.running_when_restarted = self.build.poll() is None
                self.server = self.server.restarted()
                self.restarted_at = time.monotonic()
                return
            time.sleep(0.2)


def test_jobs_on_a_spark_cluster_survive_a_minio_restart(
    spark_cluster: SparkCluster, hub_settings: Settings, tmp_path: Path
) -> None:
    """The jobs, changed only by configuration, run on the cluster's executor; the store goes away
    mid-build and the S3 retries carry the writes over it: nothing lost, nothing doubled."""
    department, day = "market_regulation", dt.date(2026, 11, 24)
    minio = start_minio(tmp_path / "minio-data")
    home = tmp_path / "home"
    settings = minio.settings_for(hub_settings, home)
    (sent,) = [s for s in simulate(settings, day, seed=5, cases_per_day=40) if s.department == department]
    ensure_buckets(settings)  # so the outage's watch can list the lake bucket from the start
    env = os.environ | {
        "HUB_HOME": str(home),
        "HUB_SPARK_MASTER": spark_cluster.master_url,
        "HUB_SPARK_DRIVER_MEMORY": "1g",
        # A few dozen rows: one task per shuffle, since the executor runs its tasks one at a time.
        "HUB_SPARK_SHUFFLE_PARTITIONS": "1",
        "HUB_STORAGE": "s3",
        "HUB_S3_ENDPOINT": minio.endpoint,
        "HUB_S3_ACCESS_KEY": minio.access_key,
        "HUB_S3_SECRET_KEY": minio.secret_key,
    }
    driver_log = tmp_path / "driver.log"
    with driver_log.open("wb") as log:
        build = subprocess.Popen(
            # -m from the repository's root: this checkout's code, whatever the venv installed.
            [sys.executable, "-m", "tests.cluster_build", department, day.isoformat()],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        # Silver's first table is committed: the outage meets the rest of silver's writes and gold's.
        outage = MinioOutage(minio, settings, "silver/case/_delta_log/", build)
        outage.start()
        try:
            stdout, _ = build.communicate(timeout=1800)
        finally:
            outage.join(timeout=120)
    try:
        assert build.returncode == 0, f"{driver_log.read_text()[-8000:]}\n{spark_cluster.logs()}"
        # The store was down, and back, while the build was running, before gold was written.
        assert outage.stopped_at is not None
        assert outage.restarted_at is not None
        assert outage.running_when_stopped
        assert outage.running_when_restarted
        assert not outage.gold_before_outage
        summary = json.loads(stdout.decode().strip().splitlines()[-1])

        # It ran as an application of the cluster, on the worker's executor, and finished.
        assert summary["master"] == spark_cluster.master_url
        app_id = summary["application_id"]
        (app,) = [a for a in spark_cluster.state()["completedapps"] if a["id"] == app_id]
        assert app["state"] == "FINISHED"
        assert app_id in {e["appid"] for e in spark_cluster.worker_state()["finishedexecutors"]}

        # Every record handed over is in bronze once; each contract's batch is reconciled once and
        # its rows in are the records (or nested entries) sent; silver and quarantine hold exactly
        # what the reconciliation says.
        bronze = read_table_rows(settings, "bronze", "case_record")
        assert len(bronze) == sent.records == summary["loaded"]["rows"]
        reconciliation = read_table_rows(settings, "quality", "batch_reconciliation")
        assert Counter(r["contract"] for r in reconciliation) == dict.fromkeys(pipeline.SILVER_CONTRACTS, 1)
        rows_in = {r["contract"]: r["rows_in"] for r in reconciliation}
        assert rows_in == {
            "case": sent.records,
            "subject": sent.records,
            "material": sent.materials,
            "case_event": sent.events,
            "certificate": sent.certificates,
            "evaluation": sent.evaluations,
            "courier_delivery": sent.consignments,
        }
        for r in reconciliation:
            assert r["rows_in"] == r["rows_valid"] + r["rows_quarantined"]
        valid = {r["contract"]: r["rows_valid"] for r in reconciliation}
        for contract in ("case", "material", "case_event"):
            assert len(read_table_rows(settings, "silver", contract)) == valid[contract]
        quarantined = (
            read_table_rows(settings, "silver", "quarantine")
            if any(r["rows_quarantined"] for r in reconciliation)
            else []
        )
        assert len(quarantined) == sum(r["rows_quarantined"] for r in reconciliation)

        # Gold, read without a JVM, has one profile per applicant of the valid cases.
        profiles = read_table_rows(settings, "gold", "subject_profile")
        cases = read_table_rows(settings, "silver", "case")
        assert sorted(p["subject_id"] for p in profiles) == sorted({c["subject_id"] for c in cases})
        assert len(profiles) == summary["built"]["subjects"]
    finally:
        outage.server.stop()
