"""The applicant's progress query: gold's `case_progress` as a serving snapshot, the check of a
verification code against it, and the limiter that stops codes being guessed.

No FastAPI here but the dependencies at the end; the route is `api/routes/cases.py`.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends, Request

from api.access import unconditional_fields_only
from api.schemas import CaseProgressPublic
from api.snapshots import ArrowRows, Read, SnapshotStore
from hub.verification_codes import case_code_hmac, same_hmac

# What each served value is read from ("contract.field"): all of it unconditional, which the app
# checks at start (`progress_is_open`), since the query serves it to whoever holds the code.
PROGRESS_SOURCES: dict[str, tuple[str, ...]] = {
    "case_id": ("case.case_id",),
    "department": ("case.department",),
    "item_code": ("case.item_code",),
    "item_name": ("case.item_name",),
    "received_at": ("case.received_at",),
    "status": ("case.status",),
    "promised_deadline": ("case.promised_deadline",),
    "timeline": ("case_event.event_type", "case_event.event_at"),
}
# Served, but about the hub rather than the case.
NOT_CASE_DATA = frozenset({"gold_version"})


def progress_is_open() -> bool:
    """Checked once at the app's start: the progress query serves only unconditional case data."""
    served = set(CaseProgressPublic.model_fields) - NOT_CASE_DATA
    if served != set(PROGRESS_SOURCES):
        raise ValueError(
            f"progress fields without sources, or sources not served: {served ^ set(PROGRESS_SOURCES)}"
        )
    unconditional_fields_only(PROGRESS_SOURCES)
    return True


@dataclass(frozen=True)
class CaseProgressSnapshot:
    version: int
    # department -> its cases' rows by case id: a case id is unique within its department only.
    by_department: Mapping[str, Mapping[str, dict[str, Any]]] = field(default_factory=dict)

    def candidates(self, case_id: str) -> list[dict[str, Any]]:
        """Every department's case of that id (one, in practice, or none)."""
        return [row for cases in self.by_department.values() if (row := cases.get(case_id)) is not None]


class CaseProgressStore(SnapshotStore[CaseProgressSnapshot]):
    tables = (("gold", "case_progress"),)

    def build(self, versions: tuple[int, ...], tables: Sequence[Read]) -> CaseProgressSnapshot:
        (version,), (table,) = versions, tables
        if table is None:
            return CaseProgressSnapshot(version)
        departments = pc.unique(table.column("department")).to_pylist()
        return CaseProgressSnapshot(
            version,
            {
                d: ArrowRows(table.filter(pc.equal(table.column("department"), pa.scalar(d))), "case_id")
                for d in departments
            },
        )


# The digest a code is compared with when no case has the id, so an unknown case costs the same
# comparison as a wrong code.
_NO_CASE = "0" * 64


def matching_case(candidates: list[dict[str, Any]], code: str, key: bytes) -> dict[str, Any] | None:
    """The case among `candidates` whose stored HMAC the code's matches; None for an unknown case
    and for a wrong code alike. Every candidate is compared, each in constant time."""
    presented = case_code_hmac(key, code)
    found = None
    for row in candidates or [{"verification_code_hmac": _NO_CASE}]:
        stored = row.get("verification_code_hmac") or _NO_CASE
        if same_hmac(presented, stored) and stored != _NO_CASE:
            found = row
    return found


def progress_of(row: dict[str, Any], version: int) -> dict[str, Any]:
    """The response's values: the row's served columns only (never its HMAC)."""
    served = {name: row[name] for name in PROGRESS_SOURCES}
    return served | {"timeline": list(row["timeline"] or ()), "gold_version": version}


class FailureLimiter:
    """At most `limit` failed attempts per key in any `window_seconds` (a sliding window).

    In memory, per API process: a replica counts its own failures, so a deployment of n replicas
    allows up to n times the limit. At most `max_keys` keys are tracked, the least recently failed
    forgotten first, so guessing at many case ids cannot exhaust memory.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window_seconds, self.max_keys, self.clock = limit, window_seconds, max_keys, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window_seconds:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, key: str) -> int | None:
        """Whole seconds until the key may try again, or None when it may now."""
        now = self.clock()
        failures = self._recent(key, now)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[-self.limit] + self.window_seconds - now))

    def failed(self, key: str) -> None:
        now = self.clock()
        failures = self._recent(key, now) or self._failures.setdefault(key, deque())
        failures.append(now)
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)


# Failed progress queries (unknown case or wrong code) allowed per case id and per client in the
# window: an applicant mistyping a code has room, a guesser of 8-character codes has none.
CASE_FAILURES_ALLOWED = 5
CLIENT_FAILURES_ALLOWED = 30
FAILURE_WINDOW_SECONDS = 900.0


@dataclass
class ProgressGuard:
    """The two limiters of the progress query: per case id (whoever asks) and per client."""

    by_case: FailureLimiter = field(
        default_factory=lambda: FailureLimiter(CASE_FAILURES_ALLOWED, FAILURE_WINDOW_SECONDS)
    )
    by_client: FailureLimiter = field(
        default_factory=lambda: FailureLimiter(CLIENT_FAILURES_ALLOWED, FAILURE_WINDOW_SECONDS)
    )

    def retry_after(self, case_id: str, client_id: str) -> int | None:
        waits = [w for w in (self.by_case.retry_after(case_id), self.by_client.retry_after(client_id)) if w]
        return max(waits) if waits else None

    def failed(self, case_id: str, client_id: str) -> None:
        self.by_case.failed(case_id)
        self.by_client.failed(client_id)


async def get_case_progress_store(request: Request) -> CaseProgressStore:
    store: CaseProgressStore = request.app.state.case_progress_store
    return store


async def get_progress_guard(request: Request) -> ProgressGuard:
    guard: ProgressGuard = request.app.state.progress_guard
    return guard


CaseProgressStoreDep = Annotated[CaseProgressStore, Depends(get_case_progress_store)]
ProgressGuardDep = Annotated[ProgressGuard, Depends(get_progress_guard)]
