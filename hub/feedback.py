"""The windows' word on reused materials: a reuse event says that a window accepted or rejected a
material on file (one the reuse plan offered) for a new application, and why it rejected it.

`POST /v1/reuse-events` journals an event (`ReuseEvent`) on the API's disk before answering, in a
journal of its own kind (`REUSE_FEEDBACK`: the audit journal's machinery, `hub/audit.py`), and
`ship` moves its sealed segments into `feedback/reuse_event`. The client names each event
(`event_id`) and may send it again when it does not know whether it arrived: shipping MERGEs on
the id, so the table holds each event once, as first journalled.

Gold reads the table: `jobs/feedback.py` builds the issuing departments' monthly feedback, and the
throughput marts count window-confirmed reuse from it. No FastAPI here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

import pyarrow as pa

from hub.audit import JournalKind, ShipReport
from hub.audit import ship as ship_kind
from hub.settings import Settings

REUSE_EVENT = ("feedback", "reuse_event")
DECISIONS = ("accepted", "rejected")
REJECTION_CODE_LIST = "reuse_rejection_reason"
# A window's free text beside the reason code: a sentence or two, not a document.
NOTE_MAX_CHARS = 500


@dataclass(frozen=True)
class ReuseEvent:
    event_id: str  # the client's; the same id sent again is the same event
    recorded_at: dt.datetime  # UTC, when the API journalled it
    occurred_at: dt.datetime  # UTC, when the window decided, as the client says
    request_id: str
    client_id: str
    department: str  # the window's, which reused (or refused) the material
    purpose: str
    subject_id: str
    item_code: str
    case_id: str | None  # the new application, when the window has its number already
    material_id: str
    material_type: str
    issuing_department: str  # whose case the material came with: the one the feedback is for
    sha256: str
    decision: str  # accepted | rejected
    reason: str | None  # code list reuse_rejection_reason; set exactly when rejected
    note: str | None
    gold_version: int | None = None

    def to_json_line(self) -> bytes:
        return (
            json.dumps(
                asdict(self)
                | {
                    "recorded_at": self.recorded_at.astimezone(dt.UTC).isoformat(),
                    "occurred_at": self.occurred_at.astimezone(dt.UTC).isoformat(),
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            + "\n"
        ).encode()

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ReuseEvent:
        values: dict[str, Any] = {f.name: row.get(f.name) for f in fields(cls)}
        for name in ("recorded_at", "occurred_at"):
            moment = values[name]
            if isinstance(moment, str):
                moment = dt.datetime.fromisoformat(moment)
            if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
                raise ValueError(f"event {row.get('event_id')!r}: {name} is not a UTC instant")
            values[name] = moment.astimezone(dt.UTC)
        if values["decision"] not in DECISIONS:
            raise ValueError(f"event {row.get('event_id')!r}: decision {values['decision']!r}")
        for name in ("event_id", "request_id", "client_id", "department", "purpose", "subject_id"):
            if not isinstance(values[name], str):
                raise ValueError(f"event {row.get('event_id')!r}: {name} is missing")
        return cls(**values)


REUSE_EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("client_id", pa.string(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
        pa.field("purpose", pa.string(), nullable=False),
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("item_code", pa.string(), nullable=False),
        pa.field("case_id", pa.string()),
        pa.field("material_id", pa.string(), nullable=False),
        pa.field("material_type", pa.string(), nullable=False),
        pa.field("issuing_department", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("note", pa.string()),
        pa.field("gold_version", pa.int64()),
        pa.field("segment", pa.string(), nullable=False),
        pa.field("shipped_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def _rows(events: Iterable[ReuseEvent], segment: str, shipped_at: dt.datetime) -> list[dict[str, Any]]:
    return [asdict(event) | {"segment": segment, "shipped_at": shipped_at} for event in events]


REUSE_FEEDBACK = JournalKind(
    name="reuse feedback",
    table=REUSE_EVENT,
    schema=REUSE_EVENT_SCHEMA,
    parse=ReuseEvent.from_dict,
    rows=_rows,
    directory=lambda settings: settings.feedback_journal,
    unique_key="event_id",
)


def rejection_problem(decision: str, reason: str | None, reasons: Iterable[str]) -> str | None:
    """Why a decision and reason do not go together, or None: a rejection names one of `reasons`,
    an acceptance none."""
    known = sorted(reasons)
    if decision == "rejected":
        if reason is None:
            return f"a rejection needs its reason, one of: {', '.join(known)}"
        if reason not in known:
            return f"unknown reason {reason!r}; one of: {', '.join(known)}"
    elif reason is not None:
        return "an accepted material has no rejection reason; leave reason out"
    return None


def ship(settings: Settings) -> ShipReport:
    """Ship the configured feedback journal to `feedback/reuse_event`."""
    return ship_kind(settings, REUSE_FEEDBACK)
