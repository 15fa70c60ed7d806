"""What the API read from a registry in the auth store (clients, grants), kept for a few seconds.

A request then needs no storage read, and a change in the registry (a client or a grant revoked)
still reaches every request within `ttl_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadThroughCache(Generic[K, V]):
    """`load(key)`'s answer, kept for `ttl_seconds` per key; None answers are kept too, so an
    unknown key does not make every request read storage."""

    def __init__(
        self, load: Callable[[K], V], ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.load = load
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        # Callers pass keys from tokens with a valid signature only (client ids, departments), so it
        # holds at most one entry per client or department the registry ever had.
        self._read: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V:
        now = self.monotonic()
        with self._lock:
            cached = self._read.get(key)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        value = self.load(key)
        with self._lock:
            self._read[key] = (now, value)
        return value
