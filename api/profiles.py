"""The serving snapshot of subject profiles: gold's `subject_profile` by subject id, each packed
once per version and unpacked for the request that asks for it (`PackedRows`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from api.snapshots import PackedRows, SnapshotStore
from hub.storage import arrow_batches

# The lineage of each case and identity entry back to bronze: for the lake's readers, served by no
# route, so not held.
UNSERVED = frozenset({"source"})


@dataclass(frozen=True)
class ProfileSnapshot:
    version: int
    profiles: Mapping[str, dict[str, Any]] = field(default_factory=dict)


class ProfileStore(SnapshotStore[ProfileSnapshot]):
    tables = (("gold", "subject_profile"),)

    def read(self, table: DeltaTable) -> pa.RecordBatchReader:
        """The table's batches as they are read, packed one by one: a million profiles take GBs
        as Arrow, and held whole beside the previous version's and the new packed rows, they
        would take as much again."""
        return arrow_batches(table)

    def build(
        self, versions: tuple[int, ...], tables: Sequence[pa.RecordBatchReader | None]
    ) -> ProfileSnapshot:
        (version,), (table,) = versions, tables
        return ProfileSnapshot(
            version, {} if table is None else PackedRows(table, "subject_id", unserved=UNSERVED)
        )

    def get(self, subject_id: str) -> dict[str, Any] | None:
        return self.snapshot().profiles.get(subject_id)
