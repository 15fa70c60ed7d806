"""The audit journal shipped to a lake on a real MinIO server over S3, and read back from it."""

from pathlib import Path

import pytest
from deltalake import DeltaTable

from hub.audit import ACCESS_LOG, AuditJournal, read_access_log, ship
from hub.settings import Settings
from hub.storage import delta_rs_location, ensure_buckets
from tests.conftest import MinioServer
from tests.profile_rows import ENTITY, PERSON
from tests.unit.test_audit_journal import audit_record

pytestmark = pytest.mark.integration


def test_the_journal_ships_to_the_lake_bucket_and_the_access_log_reads_it_back(
    minio_server: MinioServer, hub_settings: Settings, tmp_path: Path
) -> None:
    settings = minio_server.settings_for(hub_settings, tmp_path, lake_bucket="hub-lake-audit")
    ensure_buckets(settings)
    journal = AuditJournal.for_settings(settings)
    records = [audit_record(minute=1), audit_record(ENTITY, minute=2)]
    for record in records:
        journal.append(record)
    journal.close()
    assert ship(settings).rows == 2
    journal.append(pending := audit_record(minute=3))
    # Two commits to the same table on S3, each its own.
    journal.close()
    assert ship(settings).rows == 1

    location, options = delta_rs_location(settings, *ACCESS_LOG)
    assert location == "s3://hub-lake-audit/audit/access_log"
    assert DeltaTable(location, storage_options=options).version() == 1
    assert not (tmp_path / "lake").exists()
    read = read_access_log(settings, PERSON)
    assert [r.record_id for r in read] == [pending.record_id, records[0].record_id]
