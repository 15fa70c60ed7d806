"""The serving structure for subject profiles: gold read through delta-rs into a dict by subject_id.

No JVM: the API reads the Delta table with delta-rs. A new gold version is loaded in the
background of a request and swapped in whole, so each request sees exactly one version.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from hub.settings import Settings
from hub.storage import delta_rs_location


@dataclass(frozen=True)
class ProfileSnapshot:
    version: int
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_snapshot(location: str, storage_options: dict[str, str]) -> ProfileSnapshot:
    table = DeltaTable(location, storage_options=storage_options)
    rows = table.to_pyarrow_table().to_pylist()
    return ProfileSnapshot(table.version(), {row["subject_id"]: row for row in rows})


class ProfileStore:
    def __init__(self, settings: Settings) -> None:
        self.location, self.storage_options = delta_rs_location(settings, "gold", "subject_profile")
        self.refresh_seconds = settings.api_refresh_seconds
        self._snapshot: ProfileSnapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def snapshot(self) -> ProfileSnapshot:
        """The current snapshot; gold's version is checked at most every `refresh_seconds`."""
        now = time.monotonic()
        if self._snapshot is None or now - self._checked_at >= self.refresh_seconds:
            with self._lock:
                if self._snapshot is None or now - self._checked_at >= self.refresh_seconds:
                    self._refresh()
                    self._checked_at = now
        assert self._snapshot is not None
        return self._snapshot

    def _refresh(self) -> None:
        try:
            latest = DeltaTable(self.location, storage_options=self.storage_options).version()
        except TableNotFoundError:
            self._snapshot = ProfileSnapshot(-1)
            return
        if self._snapshot is None or latest != self._snapshot.version:
            self._snapshot = load_snapshot(self.location, self.storage_options)

    def get(self, subject_id: str) -> dict[str, Any] | None:
        return self.snapshot().profiles.get(subject_id)
