"""The dashboard's store of the analyst marts: read through `hub.analyst_marts` (small cells
suppressed) and kept until a mart gets a new version, checked at most every
`HUB_API_REFRESH_SECONDS`, like the serving snapshots."""

from __future__ import annotations

import threading
import time

from hub.analyst_figures import Marts, load_marts, mart_versions
from hub.settings import Settings


class AnalystMartStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.refresh_seconds = settings.api_refresh_seconds
        self._versions: tuple[int, ...] | None = None
        self._marts: Marts | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def marts(self) -> Marts:
        """The current marts; raises MartsNotBuiltError while gold has none."""
        with self._lock:
            now = time.monotonic()
            if self._marts is None or now - self._checked_at >= self.refresh_seconds:
                versions = mart_versions(self.settings)
                if versions != self._versions:
                    self._marts = load_marts(self.settings, versions)
                    self._versions = versions
                self._checked_at = now
            assert self._marts is not None
            return self._marts
