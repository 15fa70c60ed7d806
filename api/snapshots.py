"""Serving snapshots: a set of Delta tables read whole with delta-rs (no JVM) into one immutable
structure the routes look values up in, swapped for a new one when a table gets a new version.

A request takes the store's snapshot once and reads everything from it, so it sees exactly one
version of each table whatever a build commits meanwhile. A store checks its tables' versions at
most every `HUB_API_REFRESH_SECONDS`, in a thread the request that finds the check due starts, and
loads them again only when one has moved: a new gold build or catalogue is served without a
restart, and no request waits for the check or the load (a million subjects take seconds).

Each table of a set is read at the version its check found, so the snapshot's versions name the
data it holds. The tables of one set are committed one after the other by their writer, so a check
between two commits pairs the new version of one with the old of the other until the next check.
"""

from __future__ import annotations

import datetime as dt
import logging
import marshal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from hub.settings import Settings
from hub.storage import arrow_batches, delta_rs_location

log = logging.getLogger(__name__)

S = TypeVar("S")
Rows = list[dict[str, Any]]
# A table as read at its version; None when it is not there yet.
Read: TypeAlias = pa.Table | None
# The version of a table that is not there yet (no build or catalogue published): served empty.
MISSING = -1


def _open(location: str, storage_options: dict[str, str]) -> DeltaTable | None:
    try:
        return DeltaTable(location, storage_options=storage_options)
    except TableNotFoundError:
        return None


def rows(table: Read) -> Rows:
    """Every row of a table as a dict: for the small tables (the catalogue)."""
    return [] if table is None else table.to_pylist()


# Applied to a value as held (not None): the value the table holds.
Fix = Callable[[Any], Any]
# A served type, and the fix of its values (None: held as the table holds them).
Served = tuple[pa.DataType, Fix | None]

UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
UNIX_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
MICROSECONDS = {"s": 1_000_000, "ms": 1_000, "us": 1}


def _instant(unit: str) -> Fix:
    factor = MICROSECONDS[unit]
    delta = dt.timedelta
    return lambda held: UNIX_EPOCH + delta(0, 0, held * factor)


def _day(held: int) -> dt.date:
    return dt.date.fromordinal(UNIX_EPOCH_ORDINAL + held)


def _fields_fix(fixes: list[tuple[str, Fix]]) -> Fix:
    def fields(value: dict[str, Any]) -> dict[str, Any]:
        for name, fix in fixes:
            held = value[name]
            if held is not None:
                value[name] = fix(held)
        return value

    return fields


def _records_fix(fixes: list[tuple[str, Fix]]) -> Fix:
    """For a list of records, one loop over the list: a call per record would cost more than the
    fix of its few fields."""

    def records(values: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
        for value in values:
            if value is not None:
                for name, fix in fixes:
                    held = value[name]
                    if held is not None:
                        value[name] = fix(held)
        return values

    return records


def _served(arrow_type: pa.DataType, unserved: frozenset[str]) -> Served:
    """How a value of `arrow_type` is held: without the struct fields in `unserved`, and its
    timestamps and dates as the integers Arrow stores them as, made datetimes (in UTC) and dates
    in Python. Arrow makes a datetime or a date several times slower than Python makes one from
    the integer, and a profile holds dozens."""
    if pa.types.is_timestamp(arrow_type):
        if arrow_type.tz is not None and arrow_type.tz not in ("UTC", "+00:00", "Etc/UTC"):
            raise ValueError(f"a timestamp in {arrow_type.tz} where UTC is expected")
        if arrow_type.unit not in MICROSECONDS:
            raise ValueError(f"a timestamp in {arrow_type.unit}, finer than a datetime holds")
        # Arrow holds a timestamp as UTC whatever its zone; a naive one is taken as UTC too.
        return pa.int64(), _instant(arrow_type.unit)
    if pa.types.is_date32(arrow_type):
        return pa.int32(), _day
    if pa.types.is_list(arrow_type):
        return _served_list(arrow_type, unserved)
    if pa.types.is_struct(arrow_type):
        fields, fixes = _struct_fixes(arrow_type, unserved)
        return pa.struct(fields), _fields_fix(fixes) if fixes else None
    return arrow_type, None


def _served_list(arrow_type: pa.ListType, unserved: frozenset[str]) -> Served:
    item_type, item_fix = _served(arrow_type.value_type, unserved)
    if item_fix is None:
        return pa.list_(item_type), None
    if pa.types.is_struct(item_type):
        _, item_fixes = _struct_fixes(arrow_type.value_type, unserved)
        return pa.list_(item_type), _records_fix(item_fixes)
    return pa.list_(item_type), lambda values: [None if v is None else item_fix(v) for v in values]


def _struct_fixes(
    arrow_type: pa.StructType, unserved: frozenset[str]
) -> tuple[list[pa.Field], list[tuple[str, Fix]]]:
    fields, fixes = [], []
    for f in arrow_type:
        if f.name in unserved:
            continue
        served_type, fix = _served(f.type, unserved)
        fields.append(pa.field(f.name, served_type, f.nullable))
        if fix is not None:
            fixes.append((f.name, fix))
    return fields, fixes


class _KeyedRows(Mapping[str, dict[str, Any]], ABC):
    """A table's rows by the value of its `key` column, without struct fields named in `unserved`
    (lineage no route serves), timestamps and dates held as integers and made datetimes (in UTC)
    and dates in Python when a row is looked up (`_served`)."""

    def __init__(
        self, table: pa.Table | pa.RecordBatchReader, key: str, unserved: frozenset[str] = frozenset()
    ) -> None:
        fields, fixes = _struct_fixes(pa.struct(list(table.schema)), unserved)
        self._fix = _fields_fix(fixes)
        # Where each key's row is held, as the subclass tells.
        self._where: dict[str, int] = {}
        self._hold(table.cast(pa.schema(fields)), key)

    @abstractmethod
    def _hold(self, served: Any, key: str) -> None:
        """Keep the rows of `served` (the table as served) and index them by `key` in `_where`."""

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


class ArrowRows(_KeyedRows):
    """Rows held as Arrow, each made a dict only when it is looked up: a fraction of the memory and
    of the load time that Python dicts would take, for a table whose rows are seldom asked for."""

    def __init__(self, table: pa.Table, key: str, unserved: frozenset[str] = frozenset()) -> None:
        super().__init__(table, key, unserved)

    def _hold(self, served: pa.Table, key: str) -> None:
        # A row is read column by column: a one-row slice of the batch made a dict costs more.
        self._columns = [list(zip(b.schema.names, b.columns, strict=True)) for b in served.to_batches()]
        # Its batch's number in the high bits, its offset in the low ones.
        for number, columns in enumerate(self._columns):
            keys = dict(columns)[key]
            for offset, value in enumerate(keys.to_pylist()):
                self._where[value] = number << 32 | offset

    def __getitem__(self, key: str) -> dict[str, Any]:
        where = self._where[key]
        offset = where & 0xFFFFFFFF
        row = {name: column[offset].as_py() for name, column in self._columns[where >> 32]}
        fixed: dict[str, Any] = self._fix(row)
        return fixed


# Rows made dicts at a time while a table is packed: a slice's conversion holds the interpreter,
# and requests answered meanwhile wait for it (about 10 ms for gold's profiles).
PACK_SLICE_ROWS = 256


class PackedRows(_KeyedRows):
    """Rows packed with `marshal` once per version, each unpacked when it is looked up: for the
    table every request reads (gold's profiles).

    Made a dict from Arrow on each look-up, a profile cost 65-95 µs of a request's time; unpacked,
    about 15 µs. Packing costs about 50 µs a row when a version is loaded (a minute for a million
    profiles), and the packed rows take about what Arrow holds them in (3 KB a profile). Given a
    stream of the table's batches, a version is never held whole as Arrow beside its packed rows.
    """

    def _hold(self, served: pa.Table | pa.RecordBatchReader, key: str) -> None:
        self._packed: list[bytes] = []
        for batch in served.to_batches() if isinstance(served, pa.Table) else served:
            for start in range(0, batch.num_rows, PACK_SLICE_ROWS):
                for row in batch.slice(start, PACK_SLICE_ROWS).to_pylist():
                    self._where[row[key]] = len(self._packed)
                    self._packed.append(marshal.dumps(row))

    def __getitem__(self, key: str) -> dict[str, Any]:
        # Trusted bytes: this process packed them.
        fixed: dict[str, Any] = self._fix(marshal.loads(self._packed[self._where[key]]))
        return fixed


class SnapshotStore(ABC, Generic[S]):
    """Serves the snapshot `build` makes of `tables` ((layer, table) pairs), kept current."""

    tables: Sequence[tuple[str, str]] = ()

    def __init__(self, settings: Settings) -> None:
        self.locations = [delta_rs_location(settings, layer, table) for layer, table in self.tables]
        self.refresh_seconds = settings.api_refresh_seconds
        self._versions: tuple[int, ...] | None = None
        self._snapshot: S | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    @abstractmethod
    def build(self, versions: tuple[int, ...], tables: Sequence[Any]) -> S:
        """The snapshot of each table at its version (MISSING, and None, when absent), each as
        `read` gave it."""

    def read(self, table: DeltaTable) -> Any:
        """A table at its version as `build` takes it: whole, as Arrow (`Read`)."""
        return arrow_batches(table).read_all()

    @property
    def served_versions(self) -> dict[str, int]:
        """Each table's version in the snapshot served now (MISSING: not there yet), by
        `layer.table`; empty before the first request read the store."""
        if self._versions is None:
            return {}
        return {f"{layer}.{table}": v for (layer, table), v in zip(self.tables, self._versions, strict=True)}

    def snapshot(self) -> S:
        """The current snapshot. The first call loads it. Later, once `refresh_seconds` have passed,
        the call that finds a check of the tables' versions due starts it in a thread of its own
        and returns the snapshot held, as every request does until a new version, loaded whole,
        replaces it: no request waits for a check or a load. With `refresh_seconds` 0 each call
        checks before it returns (tests)."""
        if self._snapshot is None or self.refresh_seconds == 0:
            with self._lock:
                if self._snapshot is None or self.refresh_seconds == 0:
                    self._check()
        elif time.monotonic() - self._checked_at >= self.refresh_seconds:
            self._check_in_background()
        snapshot = self._snapshot
        assert snapshot is not None
        return snapshot

    def _check(self) -> None:
        try:
            self._refresh()
        finally:
            # A failed check is not retried by every request; the next is due in refresh_seconds.
            self._checked_at = time.monotonic()

    def _check_in_background(self) -> None:
        # One check at a time: the lock is released by the thread when its check is done.
        if not self._lock.acquire(blocking=False):
            return

        def check() -> None:
            try:
                self._check()
            except Exception:
                log.exception(
                    "checking %s for a new version failed; version %s is served meanwhile",
                    [location for location, _ in self.locations],
                    self._versions,
                )
            finally:
                self._lock.release()

        threading.Thread(target=check, name=f"{type(self).__name__}-check", daemon=True).start()

    def _refresh(self) -> None:
        tables = [_open(location, options) for location, options in self.locations]
        versions = tuple(MISSING if table is None else table.version() for table in tables)
        if versions == self._versions:
            return
        read = [None if table is None else self.read(table) for table in tables]
        self._snapshot = self.build(versions, read)
        self._versions = versions
