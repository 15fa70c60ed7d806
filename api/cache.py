"""What the API read from a registry in the auth store (clients, grants), kept for a few seconds.

A request then needs no storage read, and a change in the registry (a client or a grant revoked)
still reaches every request within `ttl_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

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
        cached = self._fresh(key, now)
        if cached is not None:
            return cached[1]
        value = self.load(key)
        self._keep(key, now, value)
        return value

    async def get_async(self, key: K) -> V:
        """As `get`, from the event loop: a load (a storage read) runs in a worker thread."""
        now = self.monotonic()
        cached = self._fresh(key, now)
        if cached is not None:
            return cached[1]
        value = await run_in_threadpool(self.load, key)
        self._keep(key, now, value)
        return value

    def _fresh(self, key: K, now: float) -> tuple[float, V] | None:
        with self._lock:
            cached = self._read.get(key)
        return cached if cached is not None and now - cached[0] < self.ttl_seconds else None

    def _keep(self, key: K, now: float, value: V) -> None:
        with self._lock:
            self._read[key] = (now, value)
