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
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from hub.settings import Settings
from hub.storage import delta_rs_location

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


def _served_type(arrow_type: pa.DataType, unserved: frozenset[str]) -> pa.DataType:
    """The type without the struct fields in `unserved`, its timestamps without their time zone."""
    if pa.types.is_list(arrow_type):
        return pa.list_(_served_type(arrow_type.value_type, unserved))
    if pa.types.is_struct(arrow_type):
        return pa.struct(
            [
                pa.field(f.name, _served_type(f.type, unserved), f.nullable)
                for f in arrow_type
                if f.name not in unserved
            ]
        )
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        if arrow_type.tz not in ("UTC", "+00:00", "Etc/UTC"):
            raise ValueError(f"a timestamp in {arrow_type.tz} where UTC is expected")
        # The same instants: Arrow holds a timestamp as UTC whatever its zone.
        return pa.timestamp(arrow_type.unit)
    return arrow_type


Fix = Callable[[Any], Any]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.replace(tzinfo=dt.UTC)


def _records_in_utc(item_type: pa.DataType) -> Fix | None:
    """For a list of records whose timestamps are all top-level fields (the common shape), one
    loop over the list: a call per value would cost more than the conversion it saves."""
    if not pa.types.is_struct(item_type):
        return None
    stamps = [f.name for f in item_type if pa.types.is_timestamp(f.type)]
    if not stamps or any(not pa.types.is_timestamp(f.type) and _in_utc(f.type) for f in item_type):
        return None

    def records(values: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for value in values or ():
            if value is not None:
                for name in stamps:
                    stamp = value[name]
                    if stamp is not None:
                        value[name] = stamp.replace(tzinfo=dt.UTC)
        return values

    return records


def _in_utc(arrow_type: pa.DataType) -> Fix | None:
    """What gives a value of `arrow_type` (as `_served_type` made it) its UTC zone back; None when
    it holds no timestamp."""
    if pa.types.is_timestamp(arrow_type):
        return _utc
    if pa.types.is_list(arrow_type):
        records = _records_in_utc(arrow_type.value_type)
        item = None if records is not None else _in_utc(arrow_type.value_type)
        if item is None:
            return records
        return lambda values: None if values is None else [item(v) for v in values]
    if pa.types.is_struct(arrow_type):
        fixes = [(f.name, fix) for f in arrow_type if (fix := _in_utc(f.type)) is not None]
        if not fixes:
            return None

        def struct(value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is not None:
                for name, fix in fixes:
                    value[name] = fix(value[name])
            return value

        return struct
    return None


class ArrowRows(Mapping[str, dict[str, Any]]):
    """A table's rows by the value of its `key` column, each made a dict only when it is looked up.

    Held as Arrow, a million nested gold rows take a fraction of the memory and of the load time
    that a million Python dicts would, and a request needs only its own row. Struct fields named in
    `unserved` (lineage no route serves) are left out. Timestamps are held without their zone and
    given UTC back in Python: Arrow makes a zoned datetime several times slower than a naive one,
    and a profile holds dozens.
    """

    def __init__(self, table: pa.Table, key: str, unserved: frozenset[str] = frozenset()) -> None:
        schema = pa.schema(
            [pa.field(f.name, _served_type(f.type, unserved), f.nullable) for f in table.schema]
        )
        self._batches = table.cast(schema).to_batches()
        self._fixes = [(f.name, fix) for f in schema if (fix := _in_utc(f.type)) is not None]
        # Where each key's row is: its batch's number in the high bits, its offset in the low ones.
        self._where: dict[str, int] = {}
        for number, batch in enumerate(self._batches):
            for offset, value in enumerate(batch.column(key).to_pylist()):
                self._where[value] = number << 32 | offset

    def __getitem__(self, key: str) -> dict[str, Any]:
        where = self._where[key]
        row: dict[str, Any] = self._batches[where >> 32].slice(where & 0xFFFFFFFF, 1).to_pylist()[0]
        for name, fix in self._fixes:
            row[name] = fix(row[name])
        return row

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


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
    def build(self, versions: tuple[int, ...], tables: Sequence[Read]) -> S:
        """The snapshot of each table at its version (MISSING, and None, when absent)."""

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
        read = [None if table is None else table.to_pyarrow_table() for table in tables]
        self._snapshot = self.build(versions, read)
        self._versions = versions
