"""The audit trail of subject data: who asked for which subject, when, for what purpose, and what
they got.

The API appends one record per request for subject data to a journal on its own disk and makes it
durable before the response leaves (`AuditJournal.append`); `ship_journal` later moves the sealed
journal segments into the Delta table `audit/access_log` in the lake, which supervision reads;
`read_access_log` reads a subject's records from both, so it is never behind the journal.

The journal is a folder of JSON Lines segments. Each process that audits writes one open segment
(`<name>.open.jsonl`), holding an exclusive `flock` on it for as long as it writes there; the
kernel drops that lock when the process dies, SIGKILL included, which is how a shipper tells a
live process's segment (locked: left alone) from one a killed process left open (unlocked:
sealed and shipped). A segment is sealed (renamed `<name>.jsonl`) when it reaches its size or age
limit and when its process stops.

The same journal carries other records that must not be lost once the API has answered for them:
a `JournalKind` names a kind's record type, its table and how its rows are shipped (`AUDIT` here;
the windows' reuse feedback in `hub/feedback.py`). Each kind has a journal folder of its own.

No FastAPI here: the CLI and the Airflow task ship without it; `api/audit.py` feeds the journal.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pydantic_core

from hub.settings import Settings
from hub.storage import delta_rs_location

log = logging.getLogger(__name__)

OPEN_SUFFIX = ".open.jsonl"
SEALED_SUFFIX = ".jsonl"
# A segment being created, before its lock is taken: never written to. One older than this was
# left by a process that died in between.
CREATING_SUFFIX = ".creating"
STALE_CREATING_SECONDS = 60.0
REJECTED_DIR = "rejected"
SHIP_LOCK = ".ship.lock"
ACCESS_LOG = ("audit", "access_log")
# One Delta commit carries at most this much journal text, so a journal that was not shipped for a
# long time goes out in several commits instead of one that must fit in memory.
SHIP_BATCH_BYTES = 64 * 1024 * 1024


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _UniqueIds:
    """Ids unique across processes without a system call each: a random prefix drawn once per
    process (again in a forked child) and a count. `uuid4` reads the kernel's random source for
    every id, and two ids a request cost 4% of a profile request's time under load."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.count = itertools.count()

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.count):016x}"


# 32 hex digits, as `uuid4().hex` gives, so ids made before and after look alike.
new_id = _UniqueIds()


class JournalRecord(Protocol):
    """What a journal appends: a record that is one JSON line."""

    def to_json_line(self) -> bytes: ...


@dataclass(frozen=True)
class WithheldValues:
    """Values of a field the caller was not shown, as `api.access` counted them."""

    field: str
    department: str | None
    sharing_class: str
    count: int


@dataclass(frozen=True)
class AuditRecord:
    record_id: str
    request_id: str  # also sent to the client, in the X-Request-ID response header
    at: dt.datetime  # UTC, when the response was decided
    client_id: str
    department: str
    purpose: str | None  # as stated; None when none was
    subject_id: str | None  # normalised when the id was valid, as sent otherwise
    endpoint: str
    status: int
    # shown, not_found, unknown_item, forbidden, invalid_subject_id, invalid_purpose,
    # invalid_certificate_type, invalid_material_type, invalid_request, error
    outcome: str
    gold_version: int | None = None
    grant_ids: tuple[str, ...] = ()
    fields_returned: tuple[str, ...] = ()
    fields_masked: tuple[str, ...] = ()
    fields_withheld: tuple[WithheldValues, ...] = ()

    def to_json_line(self) -> bytes:
        # JSON escapes every newline inside a value, so a record is exactly one line. Built field
        # by field (`asdict` deep-copies every value) and written by pydantic-core (a quarter of
        # the time json.dumps takes): together a tenth of a profile request's time under load.
        record = {name: getattr(self, name) for name in _RECORD_FIELDS} | {
            "at": self.at.astimezone(dt.UTC).isoformat(),
            "fields_withheld": [vars(w) for w in self.fields_withheld],
        }
        return pydantic_core.to_json(record) + b"\n"

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> AuditRecord:
        at = row["at"]
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at)
        if not isinstance(at, dt.datetime) or at.tzinfo is None:
            raise ValueError(f"record {row.get('record_id')!r}: its time is not a UTC instant")
        return cls(
            record_id=str(row["record_id"]),
            request_id=str(row["request_id"]),
            at=at.astimezone(dt.UTC),
            client_id=str(row["client_id"]),
            department=str(row["department"]),
            purpose=row["purpose"],
            subject_id=row["subject_id"],
            endpoint=str(row["endpoint"]),
            status=int(row["status"]),
            outcome=str(row["outcome"]),
            gold_version=row.get("gold_version"),
            grant_ids=tuple(row.get("grant_ids") or ()),
            fields_returned=tuple(row.get("fields_returned") or ()),
            fields_masked=tuple(row.get("fields_masked") or ()),
            fields_withheld=tuple(
                WithheldValues(w["field"], w["department"], w["sharing_class"], int(w["count"]))
                for w in row.get("fields_withheld") or ()
            ),
        )


_RECORD_FIELDS = tuple(f.name for f in fields(AuditRecord))


# The Delta table's schema. Plain types only, and written by delta-rs without table features, so
# delta-rs readers (the API) and Spark both read it.
ACCESS_LOG_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("client_id", pa.string(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
        pa.field("purpose", pa.string()),
        pa.field("subject_id", pa.string()),
        pa.field("endpoint", pa.string(), nullable=False),
        pa.field("status", pa.int32(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("gold_version", pa.int64()),
        pa.field("grant_ids", pa.list_(pa.string())),
        pa.field("fields_returned", pa.list_(pa.string())),
        pa.field("fields_masked", pa.list_(pa.string())),
        pa.field(
            "fields_withheld",
            pa.list_(
                pa.struct(
                    [
                        pa.field("field", pa.string()),
                        pa.field("department", pa.string()),
                        pa.field("sharing_class", pa.string()),
                        pa.field("count", pa.int32()),
                    ]
                )
            ),
        ),
        # The journal segment the row came from: what makes shipping a segment idempotent.
        pa.field("segment", pa.string(), nullable=False),
        pa.field("shipped_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def _sync(fd: int) -> None:
    # fdatasync skips metadata a read does not need (times), but still flushes the new length.
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _write_some(fd: int, data: memoryview) -> int:
    # A write may take only part of the line (a signal, a full disk): the caller writes the rest.
    return os.write(fd, data)


def _sync_directory(directory: Path) -> None:
    """Make a file created, renamed or removed in `directory` survive a crash of the machine."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class _OpenSegment:
    """The segment a journal appends to, locked for as long as it is open."""

    def __init__(self, directory: Path, opened_at: float) -> None:
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
        self.name = f"{stamp}-{os.getpid()}-{secrets.token_hex(8)}"
        self.path = directory / f"{self.name}{OPEN_SUFFIX}"
        self.opened_at = opened_at
        self.size = 0
        # A failed write or sync leaves the file in doubt: it is sealed, and the next append opens
        # a new segment.
        self.broken = False
        creating = directory / f"{self.name}{CREATING_SUFFIX}"
        self.fd = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            # Locked before it takes the name a shipper looks for, so a shipper never finds an
            # open segment unlocked while its process lives.
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            os.rename(creating, self.path)
            _sync_directory(directory)
        except BaseException:
            os.close(self.fd)
            raise

    def write(self, lines: bytes) -> None:
        """Append whole lines and sync them, all or none."""
        start = self.size
        try:
            view = memoryview(lines)
            while view:
                written = _write_some(self.fd, view)
                view = view[written:]
            _sync(self.fd)
        except BaseException:
            self.broken = True
            # Cut the partial lines off, so the segment's lines stay whole; their callers answer
            # without the data, so no record of it must remain either.
            with suppress(OSError):
                os.ftruncate(self.fd, start)
            raise
        self.size += len(lines)

    def seal(self) -> None:
        try:
            sealed = self.path.with_name(f"{self.name}{SEALED_SUFFIX}")
            os.rename(self.path, sealed)
            _sync_directory(self.path.parent)
        finally:
            os.close(self.fd)


class AuditWriteError(OSError):
    """The batch records were written in could not be made durable: their responses are refused.
    `durable` counts those of the records handed in (the first ones) that are on disk."""

    def __init__(self, message: str, durable: int = 0) -> None:
        super().__init__(message)
        self.durable = durable


@dataclass
class _Batch:
    """The lines of concurrent appends, written and synced together by one of their threads."""

    lines: list[bytes] = field(default_factory=list)
    done: bool = False
    # The first `durable` lines are on disk; the others failed with `error`.
    durable: int = 0
    error: BaseException | None = None


class AuditJournal:
    """An append-only journal of audit records: each `append` is on disk when it returns.

    Appends from the API's threads are committed in groups: while one thread writes and syncs a
    batch, the records that arrive meanwhile queue up, and the first of them, once the disk is
    free, writes the whole queue in one write and one sync. Each `append` still returns only when
    its own record is durable, and raises when its batch could not be made so; a sync costs
    milliseconds whatever it carries, so many requests share one instead of queueing for one each.
    """

    def __init__(
        self,
        directory: Path,
        max_segment_bytes: int,
        max_segment_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.max_segment_bytes = max_segment_bytes
        self.max_segment_seconds = max_segment_seconds
        self.monotonic = monotonic
        self._segment: _OpenSegment | None = None
        # Guards the segment (writes, rotation, sealing); held by the thread writing a batch.
        self._lock = threading.Lock()
        # Guards the queue of lines waiting for the next batch and who writes it.
        self._queue = threading.Condition(threading.Lock())
        self._waiting = _Batch()
        self._writing = False

    @classmethod
    def for_settings(cls, settings: Settings) -> AuditJournal:
        return cls(
            settings.audit_journal, settings.audit_segment_max_bytes, settings.audit_segment_max_seconds
        )

    @classmethod
    def for_kind(cls, settings: Settings, kind: JournalKind) -> AuditJournal:
        """The journal of another kind of record, in its own folder, sealed like the audit's."""
        return cls(
            kind.directory(settings), settings.audit_segment_max_bytes, settings.audit_segment_max_seconds
        )

    def append(self, record: JournalRecord) -> None:
        self.append_all([record])

    def append_all(self, records: Sequence[JournalRecord]) -> None:
        """Append the records, in order, in the same batch; on disk when this returns."""
        lines = [record.to_json_line() for record in records]
        with self._queue:
            batch = self._waiting
            position = len(batch.lines)
            batch.lines.extend(lines)
            while not batch.done:
                if self._writing:
                    self._queue.wait()
                    continue
                # Nobody is writing: this thread writes every line queued so far, its own among them.
                self._writing = True
                self._waiting = _Batch()
                self._queue.release()
                try:
                    self._write_batch(batch)
                finally:
                    self._queue.acquire()
                    self._writing = False
                    batch.done = True
                    self._queue.notify_all()
        durable = min(max(batch.durable - position, 0), len(lines))
        if durable < len(lines):
            raise AuditWriteError(
                f"the audit journal could not be written: {batch.error}", durable
            ) from batch.error

    def _write_batch(self, batch: _Batch) -> None:
        lines = batch.lines
        try:
            with self._lock:
                while batch.durable < len(lines):
                    segment = self._segment_for(len(lines[batch.durable]))
                    # As many lines as the segment holds, at least one; the rest go to the next.
                    room, end = self.max_segment_bytes - segment.size, batch.durable
                    while end < len(lines) and (end == batch.durable or len(lines[end]) <= room):
                        room -= len(lines[end])
                        end += 1
                    segment.write(b"".join(lines[batch.durable : end]))
                    batch.durable = end
        except BaseException as error:
            batch.error = error

    def _segment_for(self, line_bytes: int) -> _OpenSegment:
        segment = self._segment
        if segment is not None and (
            segment.broken
            or (segment.size and segment.size + line_bytes > self.max_segment_bytes)
            or self._due(segment)
        ):
            self._seal()
            segment = None
        if segment is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            segment = self._segment = _OpenSegment(self.directory, self.monotonic())
        return segment

    def _due(self, segment: _OpenSegment) -> bool:
        return self.monotonic() - segment.opened_at >= self.max_segment_seconds

    def seal_if_due(self) -> None:
        """Seal the open segment once it is old enough, even when no request comes to do it, so
        an idle API's records still reach the table."""
        with self._lock:
            if self._segment is not None and self._due(self._segment):
                self._seal()

    def close(self) -> None:
        """Seal the open segment (the API stops); a later append opens a new one."""
        with self._lock:
            self._seal()

    def _seal(self) -> None:
        if self._segment is not None:
            segment, self._segment = self._segment, None
            segment.seal()


@dataclass(frozen=True)
class SegmentContents:
    records: list[Any]  # of the journal's kind: AuditRecord in the audit journal
    # (line number, raw bytes) of the lines that are not a record; a last line without its newline
    # is one: a write the process did not live to finish.
    unreadable: list[tuple[int, bytes]]


def read_segment(
    path: Path, *, in_progress: bool = False, kind: JournalKind | None = None
) -> SegmentContents:
    """A segment's records (of `kind`, the audit's by default) and unreadable lines. `in_progress`:
    the segment may be written to right now, so a last line without its newline is still being
    written, not unreadable."""
    parse = (kind or AUDIT).parse
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the segment ends with a newline, as every whole record does
    records: list[Any] = []
    unreadable: list[tuple[int, bytes]] = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(parse(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            log.debug("%s line %d: %s", path.name, number, error)
            unreadable.append((number, line))
    if tail and not in_progress:
        unreadable.append((len(lines) + 1, tail))
    return SegmentContents(records, unreadable)


def _segment_name(path: Path) -> str:
    for suffix in (OPEN_SUFFIX, SEALED_SUFFIX, CREATING_SUFFIX):
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def _sealed_segments(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.glob(f"*{SEALED_SUFFIX}") if not p.name.endswith(OPEN_SUFFIX) and p.is_file()
    )


@dataclass
class ShipReport:
    shipped: list[str] = field(default_factory=list)  # segments appended to the table by this run
    rows: int = 0
    # Segments the table already held: a ship stopped after its commit, before removing them.
    already_shipped: list[str] = field(default_factory=list)
    # Segments a process that died left open, sealed by this run (and shipped with the others).
    sealed_orphans: list[str] = field(default_factory=list)
    # Open segments of processes still running: shipped once they are sealed.
    live: list[str] = field(default_factory=list)
    # Lines that were no record: each kept, with its whole segment, under the journal's rejected/.
    unreadable_lines: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def _ship_lock(directory: Path) -> Iterator[None]:
    # One shipper per journal at a time (the hourly DAG and a `hub audit ship` by hand).
    fd = os.open(directory / SHIP_LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _seal_orphans(directory: Path, report: ShipReport) -> None:
    for path in sorted(directory.glob(f"*{CREATING_SUFFIX}")):
        # Its process died between creating and naming it, so it never held a record. (A young
        # one may be about to be locked by a live process: left alone.)
        with suppress(FileNotFoundError):
            fd = os.open(path, os.O_RDONLY)
            try:
                stat = os.fstat(fd)
                stale = time.time() - stat.st_mtime > STALE_CREATING_SECONDS
                if stale and stat.st_size == 0 and _try_lock(fd):
                    path.unlink()
            finally:
                os.close(fd)
    for path in sorted(directory.glob(f"*{OPEN_SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # sealed by its process since the listing
        try:
            if not _try_lock(fd):
                report.live.append(_segment_name(path))
                continue
            # Whatever the dead process wrote reached the file; make it durable before sealing.
            os.fsync(fd)
            try:
                os.rename(path, path.with_name(f"{_segment_name(path)}{SEALED_SUFFIX}"))
            except FileNotFoundError:
                continue  # its process sealed it, and let go of it, since the listing
            _sync_directory(directory)
            report.sealed_orphans.append(_segment_name(path))
        finally:
            os.close(fd)


def _reject(directory: Path, path: Path, contents: SegmentContents) -> None:
    """Keep a segment with unreadable lines whole under rejected/, before anything removes it."""
    rejected = directory / REJECTED_DIR
    rejected.mkdir(exist_ok=True)
    kept = rejected / path.name
    shutil.copyfile(path, kept)
    fd = os.open(kept, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _sync_directory(rejected)
    lines = ", ".join(str(number) for number, _ in contents.unreadable)
    log.warning(
        "audit segment %s: line(s) %s are no record (a write its process did not finish, or damage); "
        "the segment is kept as it was in %s, its %d records are shipped",
        path.name,
        lines,
        kept,
        len(contents.records),
    )


def _already_shipped(location: str, options: dict[str, str], segments: list[str]) -> set[str]:
    from deltalake import DeltaTable

    if not segments or not DeltaTable.is_deltatable(location, storage_options=options):
        return set()
    found = DeltaTable(location, storage_options=options).to_pyarrow_table(
        columns=["segment"], filters=[("segment", "in", segments)]
    )
    return set(found.column("segment").to_pylist())


def _rows(records: Iterable[AuditRecord], segment: str, shipped_at: dt.datetime) -> list[dict[str, Any]]:
    return [
        asdict(record)
        | {
            "grant_ids": list(record.grant_ids),
            "fields_returned": list(record.fields_returned),
            "fields_masked": list(record.fields_masked),
            "fields_withheld": [asdict(w) for w in record.fields_withheld],
            "segment": segment,
            "shipped_at": shipped_at,
        }
        for record in records
    ]


@dataclass(frozen=True)
class JournalKind:
    """A kind of record the API journals before answering, and the lake table it is shipped to."""

    name: str  # as log lines and reports name it
    table: tuple[str, str]  # (layer, name) in the lake
    schema: pa.Schema  # the table's, with `segment` and `shipped_at`
    parse: Callable[[dict[str, Any]], Any]  # a journal line's (or a table row's) fields -> record
    rows: Callable[[Iterable[Any], str, dt.datetime], list[dict[str, Any]]]  # records -> table rows
    directory: Callable[[Settings], Path]  # its journal folder
    # A column no two rows may share. The audit makes its record ids itself, once per record; a kind
    # whose ids come from clients (who send a record again when unsure it arrived) names it here,
    # and shipping adds only rows whose key the table does not hold yet (a MERGE).
    unique_key: str | None = None


AUDIT = JournalKind(
    name="audit",
    table=ACCESS_LOG,
    schema=ACCESS_LOG_SCHEMA,
    parse=AuditRecord.from_dict,
    rows=_rows,
    directory=lambda settings: settings.audit_journal,
)


def first_per_key(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The rows in order, each key's first only: a record sent again is the same record."""
    seen: set[Any] = set()
    kept = []
    for row in rows:
        if row[key] not in seen:
            seen.add(row[key])
            kept.append(row)
    return kept


def _write_rows(kind: JournalKind, location: str, options: dict[str, str], rows: list[dict[str, Any]]) -> int:
    """Add the rows to the kind's table; how many it took."""
    from deltalake import DeltaTable, write_deltalake

    if kind.unique_key is not None:
        rows = first_per_key(rows, kind.unique_key)
    data = pa.Table.from_pylist(rows, schema=kind.schema)
    if kind.unique_key is None or not DeltaTable.is_deltatable(location, storage_options=options):
        write_deltalake(location, data, mode="append", storage_options=options)
        return len(rows)
    key = kind.unique_key
    merged = (
        DeltaTable(location, storage_options=options)
        .merge(data, predicate=f"target.{key} = source.{key}", source_alias="source", target_alias="target")
        .when_not_matched_insert_all()
        .execute()
    )
    return int(merged.get("num_target_rows_inserted", len(rows)))


def _remove_shipped(path: Path) -> None:
    path.unlink()


def _batches(segments: list[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    size = 0
    for path in segments:
        length = path.stat().st_size
        if batch and size + length > SHIP_BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch


def ship_journal(
    directory: Path,
    location: str,
    storage_options: dict[str, str],
    now: Callable[[], dt.datetime] = utc_now,
    kind: JournalKind = AUDIT,
) -> ShipReport:
    """Append every sealed segment of the journal (and every one a dead process left open) to the
    kind's table (the access log by default), then remove it.

    A segment is removed only after the commit that holds its rows, and the rows carry their
    segment's name: a segment found in the table already (the run before stopped between its commit
    and the removal) is removed without being appended again. Each commit holds whole segments. A
    kind with a `unique_key` adds a record whose key the table holds already (one its client sent
    again) no second time.
    """
    report = ShipReport()
    if not directory.is_dir():
        return report
    with _ship_lock(directory):
        _seal_orphans(directory, report)
        for batch in _batches(_sealed_segments(directory)):
            names = [_segment_name(p) for p in batch]
            in_table = _already_shipped(location, storage_options, names)
            rows: list[dict[str, Any]] = []
            shipped_at = now()
            for path, name in zip(batch, names, strict=True):
                if name in in_table:
                    report.already_shipped.append(name)
                    continue
                contents = read_segment(path, kind=kind)
                if contents.unreadable:
                    _reject(directory, path, contents)
                    report.unreadable_lines += len(contents.unreadable)
                rows.extend(kind.rows(contents.records, name, shipped_at))
                report.shipped.append(name)
            if rows:
                report.rows += _write_rows(kind, location, storage_options, rows)
            for path in batch:
                _remove_shipped(path)
            _sync_directory(directory)
    return report


def _read_if_present(path: Path) -> SegmentContents | None:
    try:
        return read_segment(path, in_progress=path.name.endswith(OPEN_SUFFIX))
    except FileNotFoundError:
        if not path.name.endswith(OPEN_SUFFIX):
            return None
    # Sealed since the listing: under its new name, unless shipped already.
    with suppress(FileNotFoundError):
        return read_segment(path.with_name(f"{_segment_name(path)}{SEALED_SUFFIX}"))
    return None


def journal_records(directory: Path, subject_id: str | None = None) -> list[AuditRecord]:
    """The records still in the journal (open and sealed segments), of one subject or all."""
    if not directory.is_dir():
        return []
    records: list[AuditRecord] = []
    for path in sorted(directory.glob(f"*{SEALED_SUFFIX}")):
        contents = _read_if_present(path)
        if contents is None:
            continue  # shipped and removed since the listing: the table has it
        records.extend(r for r in contents.records if subject_id is None or r.subject_id == subject_id)
    return records


def shipped_records(location: str, storage_options: dict[str, str], subject_id: str) -> list[AuditRecord]:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        table = DeltaTable(location, storage_options=storage_options)
    except TableNotFoundError:
        return []
    rows = table.to_pyarrow_table(filters=[("subject_id", "=", subject_id)]).to_pylist()
    return [AuditRecord.from_dict(row) for row in rows]


def read_access_log(settings: Settings, subject_id: str) -> list[AuditRecord]:
    """A subject's audit records, newest first: those shipped to the table and those still in the
    journal, each once (a segment shipped but not yet removed is in both)."""
    location, options = delta_rs_location(settings, *ACCESS_LOG)
    # The journal first: a segment removed between the two reads is then in the table when it
    # is read.
    pending = journal_records(settings.audit_journal, subject_id)
    by_id = {r.record_id: r for r in shipped_records(location, options, subject_id)}
    by_id.update((r.record_id, r) for r in pending)
    return sorted(by_id.values(), key=lambda r: (r.at, r.record_id), reverse=True)


def ship(settings: Settings, kind: JournalKind = AUDIT) -> ShipReport:
    """Ship the configured journal of `kind` (the audit's by default) to its table in the
    configured lake."""
    location, options = delta_rs_location(settings, *kind.table)
    report = ship_journal(kind.directory(settings), location, options, kind=kind)
    log.info(
        "%s: %d rows from %d segments shipped to %s (%d shipped before, %d left open by a "
        "stopped process, %d still open, %d unreadable lines)",
        kind.name,
        report.rows,
        len(report.shipped),
        location,
        len(report.already_shipped),
        len(report.sealed_orphans),
        len(report.live),
        report.unreadable_lines,
    )
    return report
