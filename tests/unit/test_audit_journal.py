"""The audit journal and its shipping to the lake: every record on disk when `append` returns, whole
lines whatever the threads do, segments sealed by size, age and stop, and each segment in the
Delta table exactly once, whatever crashed where."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

import hub.audit
from hub.audit import (
    ACCESS_LOG_SCHEMA,
    AuditJournal,
    AuditRecord,
    WithheldValues,
    read_access_log,
    read_segment,
    ship_journal,
)
from hub.settings import Settings
from tests.clocks import MonotonicClock
from tests.profile_rows import ENTITY, PERSON

pytestmark = pytest.mark.unit

AT = dt.datetime(2026, 11, 26, 1, tzinfo=dt.UTC)


def audit_record(subject_id: str = PERSON, department: str = "food_drug", minute: int = 0) -> AuditRecord:
    return AuditRecord(
        record_id=str(uuid.uuid4()),
        request_id=uuid.uuid4().hex,
        at=AT + dt.timedelta(minutes=minute),
        client_id=f"{department}-0123456789abcdef",
        department=department,
        purpose="approval_handling",
        subject_id=subject_id,
        endpoint="subject_profile",
        status=200,
        outcome="shown",
        gold_version=7,
        grant_ids=("food_drug-approval_handling-0123456789abcdef",),
        fields_returned=("cases.case_id", "subject_name"),
        fields_masked=("subject_name",),
        fields_withheld=(WithheldValues("identity.mobile_phone", "health", "not_shared", 1),),
    )


def _journal(directory: Path, max_bytes: int = 1 << 20, clock: MonotonicClock | None = None) -> AuditJournal:
    return AuditJournal(directory, max_bytes, 600.0, clock or MonotonicClock())


def _open(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.open.jsonl"))


def _sealed(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.jsonl") if not p.name.endswith(".open.jsonl"))


def _all_records(directory: Path) -> list[AuditRecord]:
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        contents = read_segment(path)
        assert contents.unreadable == []
        records.extend(contents.records)
    return records


def _table_rows(location: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = DeltaTable(str(location)).to_pyarrow_table().to_pylist()
    return rows


def test_each_append_is_a_whole_line_in_the_file_when_it_returns(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    first, second = audit_record(), audit_record(ENTITY, "health", minute=1)
    journal.append(first)
    (segment,) = _open(tmp_path)
    # Read through another file description: nothing waits in a buffer of the journal's.
    assert segment.read_bytes() == first.to_json_line()
    journal.append(second)
    assert read_segment(segment).records == [first, second]
    assert json.loads(segment.read_bytes().splitlines()[1])["fields_withheld"] == [
        {"field": "identity.mobile_phone", "department": "health", "sharing_class": "not_shared", "count": 1}
    ]
    journal.close()
    assert _open(tmp_path) == []
    assert [p.name for p in _sealed(tmp_path)] == [segment.name.replace(".open.jsonl", ".jsonl")]


def test_a_segment_is_sealed_at_its_size_at_its_age_and_when_the_journal_closes(tmp_path: Path) -> None:
    line = len(audit_record().to_json_line())
    clock = MonotonicClock()
    journal = _journal(tmp_path, max_bytes=3 * line, clock=clock)
    records = [audit_record(minute=i) for i in range(7)]
    for record in records:
        journal.append(record)
    # Three records a segment: two sealed, the seventh in the open one.
    assert len(_sealed(tmp_path)) == 2
    assert len(_open(tmp_path)) == 1

    clock.now += 599
    journal.seal_if_due()
    assert len(_open(tmp_path)) == 1
    clock.now += 1
    journal.seal_if_due()
    assert (len(_sealed(tmp_path)), len(_open(tmp_path))) == (3, 0)

    journal.append(late := audit_record(minute=8))
    clock.now += 600
    journal.append(later := audit_record(minute=9))  # the first append after its age seals it
    assert len(_sealed(tmp_path)) == 4
    journal.close()
    assert _all_records(tmp_path) == [*records, late, later]


def test_appends_from_many_threads_never_interleave_nor_get_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def in_halves(fd: int, data: memoryview) -> int:
        # A line written in two pieces, with another thread let in between them.
        written = os.write(fd, data[: max(1, len(data) // 2)])
        time.sleep(0.0001)
        return written

    monkeypatch.setattr(hub.audit, "_write_some", in_halves)
    # Small segments, so threads also race to seal and open them.
    journal = _journal(tmp_path, max_bytes=8 * len(audit_record().to_json_line()))
    written: list[str] = []
    start = threading.Barrier(8)

    def append_many() -> None:
        start.wait()
        for _ in range(30):
            record = audit_record()
            journal.append(record)
            written.append(record.record_id)

    threads = [threading.Thread(target=append_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    read = [r.record_id for r in _all_records(tmp_path)]
    assert len(read) == len(written) == 240
    assert set(read) == set(written)


def test_concurrent_appends_share_a_sync_and_each_returns_once_its_own_record_is_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[bytes] = []  # the segment's bytes as each sync made them durable
    real_sync = hub.audit._sync

    def slow_sync(fd: int) -> None:
        time.sleep(0.01)  # a disk's sync: milliseconds, whatever it carries
        real_sync(fd)
        synced.append(Path(f"/proc/self/fd/{fd}").read_bytes())

    monkeypatch.setattr(hub.audit, "_sync", slow_sync)
    journal = _journal(tmp_path)
    returned_unsynced: list[str] = []
    start = threading.Barrier(8)

    def append_many() -> None:
        start.wait()
        for _ in range(10):
            record = audit_record()
            journal.append(record)
            if not any(record.record_id.encode() in durable for durable in synced):
                returned_unsynced.append(record.record_id)

    threads = [threading.Thread(target=append_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    assert returned_unsynced == []
    assert len(_all_records(tmp_path)) == 80
    # One at a time would take 80 syncs.
    assert len(synced) <= 40


def test_a_failed_sync_leaves_no_partial_record_and_the_next_append_opens_a_new_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = _journal(tmp_path)
    kept = audit_record()
    journal.append(kept)
    (segment,) = _open(tmp_path)

    def disk_fails(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(hub.audit, "_sync", disk_fails)
    with pytest.raises(OSError, match="Input/output"):
        journal.append(audit_record())
    monkeypatch.undo()
    # The response that record belonged to is refused, so no trace of it stays.
    assert segment.read_bytes() == kept.to_json_line()

    journal.append(after := audit_record())
    journal.close()
    assert len(_sealed(tmp_path)) == 2
    assert _all_records(tmp_path) == [kept, after]


def test_shipping_moves_sealed_segments_into_a_table_delta_rs_reads_and_removes_them(tmp_path: Path) -> None:
    journal_dir, table = tmp_path / "journal", tmp_path / "lake" / "audit" / "access_log"
    journal = _journal(journal_dir)
    records = [audit_record(minute=i) for i in range(3)]
    for record in records:
        journal.append(record)
    journal.close()
    (segment,) = _sealed(journal_dir)

    report = ship_journal(journal_dir, str(table), {})
    assert (report.rows, report.shipped) == (3, [segment.name.removesuffix(".jsonl")])
    assert _sealed(journal_dir) == []

    delta = DeltaTable(str(table))
    # No table feature: the API reads it with delta-rs, Spark reads it too.
    assert (delta.protocol().min_reader_version, delta.protocol().min_writer_version) == (1, 2)
    assert delta.to_pyarrow_table().schema == ACCESS_LOG_SCHEMA
    rows = _table_rows(table)
    assert {row["segment"] for row in rows} == {segment.name.removesuffix(".jsonl")}
    assert sorted((AuditRecord.from_dict(row) for row in rows), key=lambda r: r.at) == records

    assert ship_journal(journal_dir, str(table), {}).rows == 0
    assert len(_table_rows(table)) == 3


def test_the_open_segment_of_a_running_journal_is_left_alone(tmp_path: Path) -> None:
    journal_dir, table = tmp_path / "journal", tmp_path / "access_log"
    journal = _journal(journal_dir)
    journal.append(audit_record())
    (segment,) = _open(journal_dir)

    report = ship_journal(journal_dir, str(table), {})
    live = segment.name.removesuffix(".open.jsonl")
    assert (report.rows, report.live, report.sealed_orphans) == (0, [live], [])
    assert segment.exists()
    assert not table.exists()

    journal.close()
    assert ship_journal(journal_dir, str(table), {}).rows == 1


def test_a_segment_a_killed_process_left_open_is_shipped_and_its_torn_last_line_kept(tmp_path: Path) -> None:
    journal_dir, table = tmp_path / "journal", tmp_path / "access_log"
    journal_dir.mkdir()
    records = [audit_record(minute=i) for i in range(3)]
    torn = audit_record(minute=3).to_json_line()[:40]
    # What a process killed in the middle of a write leaves: an open segment nobody holds a lock on.
    orphan = journal_dir / "20261126T010000000000Z-4242-00000000deadbeef.open.jsonl"
    orphan.write_bytes(b"".join(r.to_json_line() for r in records) + torn)

    report = ship_journal(journal_dir, str(table), {})
    assert report.sealed_orphans == ["20261126T010000000000Z-4242-00000000deadbeef"]
    assert (report.rows, report.unreadable_lines) == (3, 1)
    assert {r["record_id"] for r in _table_rows(table)} == {r.record_id for r in records}
    # The torn line is reported and kept, as the segment was, for whoever investigates.
    kept = journal_dir / "rejected" / "20261126T010000000000Z-4242-00000000deadbeef.jsonl"
    assert kept.read_bytes().endswith(torn)
    assert list(journal_dir.glob("*.jsonl")) == []


def test_shipping_again_after_a_crash_between_commit_and_removal_adds_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal_dir, table = tmp_path / "journal", tmp_path / "access_log"
    journal = _journal(journal_dir)
    for i in range(4):
        journal.append(audit_record(minute=i))
    journal.close()
    (segment,) = _sealed(journal_dir)

    def crash(path: Path) -> None:
        raise KeyboardInterrupt("killed after the commit")

    monkeypatch.setattr(hub.audit, "_remove_shipped", crash)
    with pytest.raises(KeyboardInterrupt):
        ship_journal(journal_dir, str(table), {})
    monkeypatch.undo()
    assert segment.exists()
    assert len(_table_rows(table)) == 4

    report = ship_journal(journal_dir, str(table), {})
    assert (report.rows, report.already_shipped) == (0, [segment.name.removesuffix(".jsonl")])
    rows = _table_rows(table)
    assert len(rows) == len({row["record_id"] for row in rows}) == 4
    assert not segment.exists()


def test_the_access_log_reads_the_table_and_the_journal_each_record_once(
    hub_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path})
    location = tmp_path / "lake" / "audit" / "access_log"
    journal = AuditJournal.for_settings(settings)
    shipped = [audit_record(minute=1), audit_record(ENTITY, minute=2), audit_record(minute=3)]
    for record in shipped:
        journal.append(record)
    journal.close()
    # Shipped, but the segment is still in the journal (a ship stopped before removing it).
    monkeypatch.setattr(hub.audit, "_remove_shipped", lambda path: None)
    assert hub.audit.ship(settings).rows == 3
    monkeypatch.undo()
    assert len(_sealed(settings.audit_journal)) == 1
    journal.append(pending := audit_record(department="health", minute=4))
    journal.append(audit_record(ENTITY, minute=5))

    log = read_access_log(settings, PERSON)
    assert [r.record_id for r in log] == [pending.record_id, shipped[2].record_id, shipped[0].record_id]
    assert log[1] == shipped[2]
    assert location.exists()
    journal.close()
