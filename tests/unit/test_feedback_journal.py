"""The reuse-feedback kind of journal: the audit's machinery with its own folder and table, each
event in `feedback/reuse_event` once however often its window sent it; and the request checks that
need no gold."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from pydantic import ValidationError

from api.routes.reuse_events import event_problem, material_on_file, requirement_problem
from api.schemas import ReuseEventCreate
from hub.audit import AUDIT, AuditJournal, read_segment, ship_journal
from hub.feedback import REUSE_FEEDBACK, ReuseEvent, rejection_problem
from hub.settings import Settings
from tests.clocks import MonotonicClock
from tests.profile_rows import PERSON

pytestmark = pytest.mark.unit

AT = dt.datetime(2026, 11, 26, 1, tzinfo=dt.UTC)
SHA = "ab" * 32


def reuse_event(event_id: str | None = None, decision: str = "accepted", **changes: Any) -> ReuseEvent:
    values: dict[str, Any] = {
        "event_id": event_id or str(uuid.uuid4()),
        "recorded_at": AT,
        "occurred_at": AT - dt.timedelta(minutes=3),
        "request_id": uuid.uuid4().hex,
        "client_id": "market_regulation-0123456789abcdef",
        "department": "market_regulation",
        "purpose": "approval_handling",
        "subject_id": PERSON,
        "item_code": "SCJ-0101-01",
        "case_id": "MR-2026-000123",
        "material_id": "FD-M-1",
        "material_type": "id_card_copy",
        "issuing_department": "food_drug",
        "sha256": SHA,
        "decision": decision,
        "reason": "illegible" if decision == "rejected" else None,
        "note": "页面模糊" if decision == "rejected" else None,
        "gold_version": 4,
    }
    return ReuseEvent(**(values | changes))


def _journal(directory: Path) -> AuditJournal:
    return AuditJournal(directory, 1 << 20, 600.0, MonotonicClock())


def test_an_event_round_trips_through_its_journal_line(tmp_path: Path) -> None:
    journal = _journal(tmp_path / "feedback")
    events = [reuse_event(), reuse_event(decision="rejected", case_id=None)]
    journal.append_all(events)
    journal.close()
    (segment,) = (tmp_path / "feedback").glob("*.jsonl")
    assert read_segment(segment, kind=REUSE_FEEDBACK).records == events
    # Read as the audit's kind, the same lines are no records: the kinds do not mix.
    assert len(read_segment(segment, kind=AUDIT).unreadable) == 2


def test_the_kinds_have_their_own_folders_and_tables(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert REUSE_FEEDBACK.directory(settings) == tmp_path / "feedback" / "journal"
    assert AUDIT.directory(settings) == tmp_path / "audit" / "journal"
    assert (REUSE_FEEDBACK.table, AUDIT.table) == (("feedback", "reuse_event"), ("audit", "access_log"))
    assert AuditJournal.for_kind(settings, REUSE_FEEDBACK).directory == tmp_path / "feedback" / "journal"


def test_shipping_adds_each_event_once_however_often_it_was_sent(tmp_path: Path) -> None:
    journal_dir, table = tmp_path / "feedback", tmp_path / "lake" / "reuse_event"
    journal = _journal(journal_dir)
    first, second = reuse_event(), reuse_event(decision="rejected")
    # A retry in the same segment, then one in a later segment after the first was shipped.
    journal.append_all([first, second, reuse_event(first.event_id, decision="rejected")])
    journal.close()
    report = ship_journal(journal_dir, str(table), {}, kind=REUSE_FEEDBACK)
    assert report.rows == 2
    journal.append(reuse_event(second.event_id))
    journal.append(third := reuse_event())
    journal.close()
    assert ship_journal(journal_dir, str(table), {}, kind=REUSE_FEEDBACK).rows == 1
    rows = DeltaTable(str(table)).to_pyarrow_table().to_pylist()
    by_id = {row["event_id"]: row for row in rows}
    assert len(rows) == 3
    assert set(by_id) == {first.event_id, second.event_id, third.event_id}
    # The first sent counts: the retries that said otherwise are dropped.
    assert (by_id[first.event_id]["decision"], by_id[second.event_id]["decision"]) == ("accepted", "rejected")
    assert by_id[second.event_id]["reason"] == "illegible"
    assert list(journal_dir.glob("*.jsonl")) == []
    protocol = DeltaTable(str(table)).protocol()
    assert not protocol.reader_features
    assert not protocol.writer_features


def test_the_rejection_reason_goes_with_the_decision() -> None:
    reasons = ["illegible", "expired"]
    assert rejection_problem("accepted", None, reasons) is None
    assert rejection_problem("rejected", "expired", reasons) is None
    missing = rejection_problem("rejected", None, reasons) or ""
    assert "needs its reason, one of: expired, illegible" in missing
    assert "unknown reason 'torn'" in (rejection_problem("rejected", "torn", reasons) or "")
    assert "no rejection reason" in (rejection_problem("accepted", "expired", reasons) or "")


def _request(**changes: Any) -> ReuseEventCreate:
    body = {
        "event_id": str(uuid.uuid4()),
        "subject_id": PERSON,
        "item_code": "SCJ-0101-01",
        "material_type": "id_card_copy",
        "material_id": "FD-M-1",
        "decision": "accepted",
        "occurred_at": "2026-11-26T09:00:00+08:00",
    }
    return ReuseEventCreate.model_validate(body | changes)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"material_id": None}, "name the material"),
        ({"material_id": None, "sha256": SHA}, None),
        ({"decision": "rejected"}, "needs its reason"),
        ({"decision": "rejected", "reason": "other"}, "needs a note"),
        ({"decision": "rejected", "reason": "other", "note": "  "}, "needs a note"),
        ({"decision": "rejected", "reason": "other", "note": "盖章不全"}, None),
        ({"occurred_at": "2026-11-26T02:00:00+00:00"}, "in the future"),
    ],
)
def test_what_an_event_must_say_before_gold_is_read(changes: dict[str, Any], problem: str | None) -> None:
    found = event_problem(_request(**changes), now=AT)
    assert (found is None) if problem is None else (problem in (found or "")), found


@pytest.mark.parametrize(
    "body",
    [
        {"note": "x" * 501},
        {"occurred_at": "2026-11-26T09:00:00"},  # no offset: whose nine o'clock?
        {"event_id": "not-a-uuid"},
        {"decision": "maybe"},
        {"subject_id": "x" * 65},
        {"unexpected": 1},
    ],
)
def test_oversized_or_malformed_fields_are_refused_by_the_model(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _request(**body)


REQUIREMENTS = [
    {"material_type": "id_card_copy", "reusable": True, "validity_rule": "until_expiry"},
    {"material_type": "application_form", "reusable": False, "validity_rule": "single_use"},
]


def test_only_a_material_the_item_lets_stand_in_has_a_reuse_to_record() -> None:
    assert requirement_problem(REQUIREMENTS, _request()) is None
    single_use = requirement_problem(REQUIREMENTS, _request(material_type="application_form"))
    assert "asks for a new" in (single_use or "")
    unrequired = requirement_problem(REQUIREMENTS, _request(material_type="floor_plan"))
    assert "does not require" in (unrequired or "")


def test_the_material_is_found_by_type_and_by_its_id_or_hash() -> None:
    on_file = [
        {"material_type": "id_card_copy", "material_id": "FD-M-1", "sha256": SHA},
        {"material_type": "floor_plan", "material_id": "FD-M-2", "sha256": "cd" * 32},
    ]
    assert material_on_file(on_file, _request()) is on_file[0]
    assert material_on_file(on_file, _request(material_id=None, sha256=SHA)) is on_file[0]
    assert material_on_file(on_file, _request(material_id="FD-M-2")) is None
    assert material_on_file(on_file, _request(sha256="cd" * 32)) is None
