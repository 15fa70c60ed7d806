"""Faults injected on purpose at named points, to prove that a task retried after partial work
leaves nothing lost and nothing doubled.

A point is named after the table whose commit it follows (`bronze/case_record`,
`silver/<contract>`). `HUB_FAULT_ONCE` lists the points to fail; each fails the first time a run
passes it in a hub home, and a marker file under `<home>/faults/` remembers that it did, so the
retry (in this process or another) goes through. With the setting empty, a point does nothing.
"""

from __future__ import annotations

from hub.settings import Settings


class InjectedFaultError(RuntimeError):
    """A failure a test asked for at a fault point."""


def fault_point(settings: Settings, point: str) -> None:
    """Raise InjectedFaultError if `point` is listed in HUB_FAULT_ONCE and has not failed yet here."""
    if point not in {p.strip() for p in settings.fault_once.split(",")}:
        return
    marker = settings.home / "faults" / point.replace("/", "__")
    if marker.exists():
        return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    raise InjectedFaultError(f"fault injected after the commit to {point} (HUB_FAULT_ONCE)")
