"""The interfaces through which simulated department systems hand over their records.

A file drop on a shared folder, a bucket on an S3-compatible store, a table read over JDBC, and
a table behind a paginated HTTP API. Each takes one day's records at a time, so a long
simulation streams to disk instead of piling up in memory.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from hub.simulator.departments import SourceRecord
from hub.storage import ObjectStore

# Every object-store drop is split into parts of this many records, as exporting systems do.
PART_SIZE = 5000


class DayWriter(Protocol):
    def write_day(self, day_name: str, records: list[SourceRecord], faults: set[str]) -> list[str]:
        """Hand over one day's records; return where they went (paths, keys or table names)."""
        ...


def _payload(text: str, encoding: str, faults: set[str]) -> bytes:
    """The export's bytes: in the department's encoding, or spoiled by the file faults drawn for it."""
    if "wrong_encoding" in faults:
        encoding = "utf-8" if encoding.lower() != "utf-8" else "gbk"
    payload = text.encode(encoding)
    if "truncated_file" in faults:
        # Cut inside the last record, as an export that died half-way leaves it.
        payload = payload[: max(1, len(payload) - 25)]
    return payload


def _write(path: Path, payload: bytes) -> list[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return [str(path)]


class CsvFileDrop:
    def __init__(self, root: Path, encoding: str, headers: list[str], renamed: tuple[str, str]) -> None:
        self.root, self.encoding, self.headers, self.renamed = root, encoding, headers, renamed

    def write_day(self, day_name: str, records: list[SourceRecord], faults: set[str]) -> list[str]:
        # A day without cases still gets its export, header only: no file means the system is down.
        headers = self.headers
        if "renamed_column" in faults:
            headers = [self.renamed[1] if h == self.renamed[0] else h for h in headers]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows([[("" if r[h] is None else r[h]) for h in self.headers] for r in records])
        return _write(self.root / day_name / "cases.csv", _payload(out.getvalue(), self.encoding, faults))


def _renamed(record: SourceRecord, renamed: tuple[str, str]) -> SourceRecord:
    return {(renamed[1] if k == renamed[0] else k): v for k, v in record.items()}


class JsonLinesFileDrop:
    def __init__(self, root: Path, renamed: tuple[str, str]) -> None:
        self.root, self.renamed = root, renamed

    def write_day(self, day_name: str, records: list[SourceRecord], faults: set[str]) -> list[str]:
        if "renamed_column" in faults:
            records = [_renamed(r, self.renamed) for r in records]
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        return _write(self.root / day_name / "cases.jsonl", _payload(text, "utf-8", faults))


class BucketDrop:
    """JSON documents (an array of records each) put into the department's own bucket."""

    def __init__(self, store: ObjectStore, prefix: str, renamed: tuple[str, str]) -> None:
        self.store, self.prefix, self.renamed = store, prefix, renamed

    def write_day(self, day_name: str, records: list[SourceRecord], faults: set[str]) -> list[str]:
        keys = []
        if "renamed_column" in faults:
            records = [_renamed(r, self.renamed) for r in records]
        for part, start in enumerate(range(0, max(len(records), 1), PART_SIZE), start=1):
            text = json.dumps(records[start : start + PART_SIZE], ensure_ascii=False, indent=1)
            # Only the first part of a spoiled export is broken; the rest went out fine.
            payload = _payload(text, "utf-8", faults if part == 1 else set())
            key = f"{self.prefix}{day_name}/cases-{part:04d}.json"
            self.store.put_bytes(key, payload)
            keys.append(key)
        return keys


def _column_value(value: Any) -> Any:
    """A nested list or object is stored as JSON text, as database-backed systems keep them."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


class SqliteChangeTable:
    """An append-only table of case changes, as many department systems keep for exchange.

    Each change row gets the next number in `row_id`; a record held back arrives in a later
    day's write with its original update time, like a change committed late.
    """

    def __init__(self, path: Path, table: str, row_id: str) -> None:
        self.path, self.table, self.row_id = path, table, row_id

    def write_day(self, day_name: str, records: list[SourceRecord], faults: set[str]) -> list[str]:
        if not records:
            return []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        columns = list(records[0])
        with sqlite3.connect(self.path) as db:
            declared = ", ".join(
                f"{c} {'INTEGER' if isinstance(records[0][c], int) else 'TEXT'}" for c in columns
            )
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ({self.row_id} INTEGER PRIMARY KEY, {declared})"
            )
            # Simulating a day again replaces what that day wrote, so re-runs do not pile up.
            db.execute("CREATE TABLE IF NOT EXISTS simulated_day (day TEXT PRIMARY KEY, first INT, last INT)")
            previous = db.execute(
                "SELECT first, last FROM simulated_day WHERE day = ?", (day_name,)
            ).fetchone()
            if previous:
                db.execute(f"DELETE FROM {self.table} WHERE rowid BETWEEN ? AND ?", previous)
            (first,) = db.execute(f"SELECT coalesce(max(rowid), 0) + 1 FROM {self.table}").fetchone()
            db.executemany(
                f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [tuple(_column_value(r.get(c)) for c in columns) for r in records],
            )
            db.execute(
                "INSERT OR REPLACE INTO simulated_day VALUES (?, ?, ?)",
                (day_name, first, first + len(records) - 1),
            )
        return [f"{self.path}#{self.table}"]
