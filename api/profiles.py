"""The serving snapshot of subject profiles: gold's `subject_profile` by subject id, each packed
once per version and unpacked for the request that asks for it (`PackedRows`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.snapshots import PackedRows, Read, SnapshotStore

# The lineage of each case and identity entry back to bronze: for the lake's readers, served by no
# route, so not held.
UNSERVED = frozenset({"source"})


@dataclass(frozen=True)
class ProfileSnapshot:
    version: int
    profiles: Mapping[str, dict[str, Any]] = field(default_factory=dict)


class ProfileStore(SnapshotStore[ProfileSnapshot]):
    tables = (("gold", "subject_profile"),)

    def build(self, versions: tuple[int, ...], tables: Sequence[Read]) -> ProfileSnapshot:
        (version,), (table,) = versions, tables
        return ProfileSnapshot(
            version, {} if table is None else PackedRows(table, "subject_id", unserved=UNSERVED)
        )

    def get(self, subject_id: str) -> dict[str, Any] | None:
        return self.snapshot().profiles.get(subject_id)
