"""The serving snapshot of subject profiles: gold's `subject_profile` by subject id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from api.snapshots import Rows, SnapshotStore


@dataclass(frozen=True)
class ProfileSnapshot:
    version: int
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)


class ProfileStore(SnapshotStore[ProfileSnapshot]):
    tables = (("gold", "subject_profile"),)

    def build(self, versions: tuple[int, ...], rows: Sequence[Rows]) -> ProfileSnapshot:
        (version,), (profiles,) = versions, rows
        return ProfileSnapshot(version, {row["subject_id"]: row for row in profiles})

    def get(self, subject_id: str) -> dict[str, Any] | None:
        return self.snapshot().profiles.get(subject_id)
