"""Clocks a test sets by hand, for code that takes its clock as an argument."""

from __future__ import annotations

import datetime as dt


class WallClock:
    """Stands still at `now` until the test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class MonotonicClock:
    """A `time.monotonic` stand-in: seconds from an arbitrary start, moved by the test."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
