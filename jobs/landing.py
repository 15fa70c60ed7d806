"""Land what a department sent, unchanged, in the landing zone, with a checksum manifest per batch.

A batch is what one ingestion run pulled: the payloads of a pull window [since, until). The
window is normally the run's data interval; after a run that failed (the department was down)
the next run starts from the last landed `until`, the department's watermark, so nothing is
missed. The manifest, written last, records the window: re-running a run that already landed
returns the same batch without pulling again, and a backfill skips a range another batch
already covered, so nothing is landed twice.

A database-backed department can commit a change late with an earlier update time (a street
office terminal that syncs after hours): a pull by update time alone would never see it. Such a
department declares a lookback; its pull re-reads that much of the windows already landed
before its own (`fetched_since` .. `since`), and bronze keeps only the change rows it has not
seen (jobs.bronze.unseen_rows).

A department can also deliver the same export again: under a new name, or in a later day's folder.
A payload whose bytes (sha256) an earlier batch, or this one, already landed is not landed for
bronze a second time: it is kept apart under `rejected/`, unchanged, with a reason naming the
file that holds those bytes, and bronze records it in `quality.file_incidents` like any reject.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from hub.storage import ObjectStore

MANIFEST = "_manifest.json"
MISSED = "_missed"  # windows of runs that failed to pull, so a later run catches them up


class SourceUnavailableError(RuntimeError):
    """The department's system could not be reached or had nothing for the window: retry later."""


@dataclass(frozen=True)
class PullWindow:
    since: dt.datetime
    until: dt.datetime

    def days(self) -> list[dt.date]:
        first, last = self.since.date(), (self.until - dt.timedelta(microseconds=1)).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class LandedFile:
    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RejectedFile:
    """A payload landed for the record but kept out of bronze, with the reason."""

    key: str
    sha256: str
    reason: str


@dataclass(frozen=True)
class LandedBatch:
    department: str
    batch_id: str
    files: list[LandedFile]
    landed_at: str
    since: str
    until: str
    rejected: list[RejectedFile] = field(default_factory=list)
    fetched_since: str = ""  # earlier than `since` when the pull looked back; "" means `since`

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> LandedBatch:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LandedBatch:
        return cls(
            doc["department"],
            doc["batch_id"],
            [LandedFile(**f) for f in doc["files"]],
            doc["landed_at"],
            doc["since"],
            doc["until"],
            [RejectedFile(**r) for r in doc.get("rejected", [])],
            doc.get("fetched_since", ""),
        )

    @property
    def window(self) -> PullWindow:
        return PullWindow(dt.datetime.fromisoformat(self.since), dt.datetime.fromisoformat(self.until))

    @property
    def looked_back(self) -> PullWindow | None:
        """The part of earlier batches' windows this pull read again, if it looked back."""
        if not self.fetched_since or self.fetched_since == self.since:
            return None
        return PullWindow(dt.datetime.fromisoformat(self.fetched_since), self.window.since)


class Source(Protocol):
    """A department system the hub pulls from: the raw payloads of a window, as (name, bytes)."""

    def fetch(self, window: PullWindow) -> Iterator[tuple[str, bytes]]: ...


class RecordsCheck(Protocol):
    def __call__(self, payload: bytes) -> bool:
        """Whether a payload (one that passed its PayloadCheck) holds any record."""
        ...


class PayloadCheck(Protocol):
    def __call__(self, name: str, payload: bytes) -> str | None:
        """Why the payload cannot go to bronze, or None when it can."""
        ...


def batch_id_for(department: str, interval_start: dt.date) -> str:
    return f"{department}-{interval_start:%Y%m%d}"


def landed_batches(store: ObjectStore, department: str) -> list[LandedBatch]:
    # Batches live under <department>/<department>-<yyyymmdd>/; anything else there is not a batch.
    keys = [k for k in store.list_keys(f"{department}/{department}-") if k.endswith("/" + MANIFEST)]
    return sorted((LandedBatch.from_json(store.get_bytes(k)) for k in keys), key=lambda b: b.since)


@dataclass(frozen=True)
class PullPlan:
    """What a run should do: land `window` as a new batch, or reuse a batch that already holds it.

    A new batch is fetched from `fetch_since`, which is earlier than the window when it looks back.
    """

    batch_id: str
    window: PullWindow | None
    existing: LandedBatch | None
    fetch_since: dt.datetime | None = None
    # The department's files already landed, by sha256: a payload with the same bytes is a redelivery.
    landed_digests: dict[str, str] = field(default_factory=dict)

    @property
    def fetch_window(self) -> PullWindow:
        assert self.window is not None
        return PullWindow(self.fetch_since or self.window.since, self.window.until)


def _missed_windows(store: ObjectStore, department: str) -> list[PullWindow]:
    keys = store.list_keys(f"{department}/{MISSED}/")
    return [
        PullWindow(**{k: dt.datetime.fromisoformat(v) for k, v in json.loads(store.get_bytes(k)).items()})
        for k in keys
    ]


def _covered_back_to(windows: list[PullWindow], since: dt.datetime) -> dt.datetime:
    """How far back from `since` earlier batches cover time without a gap."""
    start, extended = since, True
    while extended:
        extended = False
        for window in windows:
            if window.since < start <= window.until:
                start, extended = window.since, True
    return start


def plan_pull(
    store: ObjectStore, department: str, interval: PullWindow, lookback: dt.timedelta = dt.timedelta(0)
) -> PullPlan:
    batch_id = batch_id_for(department, interval.since.date())
    batches = landed_batches(store, department)
    for batch in batches:
        if batch.batch_id == batch_id:
            return PullPlan(batch_id, None, batch)  # a re-run: the same batch, not pulled again
    for batch in batches:
        if batch.window.since < interval.until and interval.since < batch.window.until:
            return PullPlan(batch.batch_id, None, batch)  # a backfill of a range already covered
    # Catch up what failed runs missed: from the watermark, or from the first missed window that
    # no batch has covered since. A backfill before any batch starts at its own interval.
    earlier = [b.window.until for b in batches if b.window.until <= interval.since]
    since = max(earlier) if earlier else interval.since
    covered = [b.window for b in batches]
    for missed in _missed_windows(store, department):
        uncovered = not any(w.since <= missed.since and missed.until <= w.until for w in covered)
        if uncovered and missed.since < since:
            since = missed.since
    # Looking back re-reads only landed windows: a gap before `since` is a backfill's to pull.
    fetch_since = max(since - lookback, _covered_back_to(covered, since))
    # A pull that looks back reads rows it has landed before by design (bronze keeps the unseen
    # ones), so only a pull of new time alone counts identical bytes as a redelivery.
    digests = {} if fetch_since < since else {f.sha256: f.key for b in batches for f in b.files}
    return PullPlan(batch_id, PullWindow(since, interval.until), None, fetch_since, digests)


def _not_blank(payload: bytes) -> bool:
    return bool(payload.strip())


def redelivery_problem(
    payload: bytes, digest: str, landed_digests: dict[str, str], holds_records: RecordsCheck = _not_blank
) -> str | None:
    """Why a payload is a redelivery (the same bytes as a file already landed), or None."""
    earlier = landed_digests.get(digest)
    if earlier is None or not holds_records(payload):
        return None  # quiet days' exports (a header, an empty list) are alike, not sent twice
    return f"redelivered: the same bytes (sha256 {digest}) as {earlier}"


def _land_payloads(
    store: ObjectStore,
    prefix: str,
    payloads: Iterator[tuple[str, bytes]],
    check: PayloadCheck,
    *,
    landed_digests: dict[str, str],
    holds_records: RecordsCheck,
) -> tuple[list[LandedFile], list[RejectedFile]]:
    files: list[LandedFile] = []
    rejected: list[RejectedFile] = []
    seen = dict(landed_digests)
    for name, payload in payloads:
        digest = hashlib.sha256(payload).hexdigest()
        problem = check(name, payload) or redelivery_problem(payload, digest, seen, holds_records)
        if problem is None:
            key = f"{prefix}/{name}"
            store.put_bytes(key, payload)
            files.append(LandedFile(key, digest, len(payload)))
            seen[digest] = key
        else:
            # Kept apart, unchanged, so it can be inspected and re-sent; never read into bronze.
            key = f"{prefix}/rejected/{name}"
            store.put_bytes(key, payload)
            rejected.append(RejectedFile(key, digest, problem))
    return files, rejected


def land(
    store: ObjectStore,
    department: str,
    plan: PullPlan,
    source: Source,
    check: PayloadCheck,
    *,
    holds_records: RecordsCheck = _not_blank,
    now: dt.datetime | None = None,
) -> LandedBatch:
    """Land the plan's window from `source`; payloads that fail `check`, and records-holding
    payloads with the bytes of a file already landed (`holds_records` tells), are landed but
    rejected.

    When the department cannot be reached the window is recorded as missed, so the next run that
    gets through pulls it too.
    """
    if plan.existing is not None:
        return plan.existing
    assert plan.window is not None
    prefix = f"{department}/{plan.batch_id}"
    try:
        files, rejected = _land_payloads(
            store,
            prefix,
            source.fetch(plan.fetch_window),
            check,
            landed_digests=plan.landed_digests,
            holds_records=holds_records,
        )
    except SourceUnavailableError:
        window = {"since": plan.window.since.isoformat(), "until": plan.window.until.isoformat()}
        store.put_bytes(f"{department}/{MISSED}/{plan.batch_id}.json", json.dumps(window).encode())
        raise
    batch = LandedBatch(
        department,
        plan.batch_id,
        files,
        (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        plan.window.since.isoformat(),
        plan.window.until.isoformat(),
        rejected,
        plan.fetch_window.since.isoformat(),
    )
    # The manifest is written last: its presence means the whole batch landed.
    store.put_bytes(f"{prefix}/{MANIFEST}", batch.to_json().encode("utf-8"))
    return batch
