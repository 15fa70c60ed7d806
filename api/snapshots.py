"""Serving snapshots: a set of Delta tables read whole with delta-rs (no JVM) into one immutable
structure the routes look values up in, swapped for a new one when a table gets a new version.

A request takes the store's snapshot once and reads everything from it, so it sees exactly one
version of each table whatever a build commits meanwhile. A store checks its tables' versions at
most every `HUB_API_REFRESH_SECONDS`, on the request that finds the check due, and loads them
again only when one has moved: a new gold build or catalogue is served without a restart.

Each table of a set is read at the version its check found, so the snapshot's versions name the
data it holds. The tables of one set are committed one after the other by their writer, so a check
between two commits pairs the new version of one with the old of the other until the next check.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from hub.settings import Settings
from hub.storage import delta_rs_location

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


class ArrowRows(Mapping[str, dict[str, Any]]):
    """A table's rows by the value of its `key` column, each made a dict only when it is looked up.

    Held as Arrow, a million nested gold rows take a fraction of the memory and of the load time
    that a million Python dicts would, and a request needs only its own row.
    """

    def __init__(self, table: pa.Table, key: str) -> None:
        self._batches = table.to_batches()
        # Where each key's row is: its batch's number in the high bits, its offset in the low ones.
        self._where: dict[str, int] = {}
        for number, batch in enumerate(self._batches):
            for offset, value in enumerate(batch.column(key).to_pylist()):
                self._where[value] = number << 32 | offset

    def __getitem__(self, key: str) -> dict[str, Any]:
        where = self._where[key]
        row: dict[str, Any] = self._batches[where >> 32].slice(where & 0xFFFFFFFF, 1).to_pylist()[0]
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

    def snapshot(self) -> S:
        """The current snapshot; the tables' versions are checked at most every `refresh_seconds`."""
        now = time.monotonic()
        if self._snapshot is None or now - self._checked_at >= self.refresh_seconds:
            with self._lock:
                if self._snapshot is None or now - self._checked_at >= self.refresh_seconds:
                    self._refresh()
                    self._checked_at = now
        assert self._snapshot is not None
        return self._snapshot

    def _refresh(self) -> None:
        tables = [_open(location, options) for location, options in self.locations]
        versions = tuple(MISSING if table is None else table.version() for table in tables)
        if versions == self._versions:
            return
        read = [None if table is None else table.to_pyarrow_table() for table in tables]
        self._snapshot = self.build(versions, read)
        self._versions = versions
