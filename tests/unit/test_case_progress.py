"""The progress query's pure parts: the verification code's HMAC, the match against gold's rows,
the failure limiter, the serving snapshot, and the simulated departments' codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from api.case_progress import (
    CaseProgressStore,
    FailureLimiter,
    ProgressGuard,
    matching_case,
    progress_is_open,
    progress_of,
)
from hub.settings import Settings
from hub.simulator.departments import SHAPES
from hub.simulator.world import CODE_ALPHABET, CODE_LENGTH, District, verification_code
from hub.storage import delta_rs_location
from hub.verification_codes import case_code_hmac, hmac_pads, normalised_code, same_hmac
from jobs.departments import load_mappings

pytestmark = pytest.mark.unit

KEY = b"unit-test-case-code-key-32-bytes"


@pytest.mark.parametrize("key", [KEY, b"k", bytes(range(100))], ids=["32 bytes", "short", "over a block"])
def test_the_pads_give_the_same_hmac_as_the_hmac_module(key: bytes) -> None:
    """Spark builds the HMAC from the pads and two plain hashes: it must be the real thing."""
    inner, outer = hmac_pads(key)
    message = b"K7MQ3Z9P"
    by_hand = hashlib.sha256(outer + hashlib.sha256(inner + message).digest()).hexdigest()
    assert by_hand == hmac.new(key, message, hashlib.sha256).hexdigest()
    assert case_code_hmac(key, "k7mq-3z9p") == by_hand


def test_rfc_4231_case_2() -> None:
    # Key "Jefe", data "what do ya want for nothing?" (RFC 4231 §4.3), upper-cased by normalisation.
    assert (
        case_code_hmac(b"Jefe", "WHAT DO YA WANT FOR NOTHING?")
        == hmac.new(b"Jefe", b"WHATDOYAWANTFORNOTHING?", hashlib.sha256).hexdigest()
    )
    inner, outer = hmac_pads(b"Jefe")
    assert hashlib.sha256(
        outer + hashlib.sha256(inner + b"what do ya want for nothing?").digest()
    ).hexdigest() == ("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


@pytest.mark.parametrize("typed", ["K7MQ3Z9P", "k7mq3z9p", " K7MQ-3Z9P ", "k7mq 3z9p", "K7\tMQ3Z9P"])
def test_blanks_hyphens_and_case_do_not_matter(typed: str) -> None:
    assert normalised_code(typed) == "K7MQ3Z9P"
    assert case_code_hmac(KEY, typed) == case_code_hmac(KEY, "K7MQ3Z9P")


def test_another_key_gives_another_hmac() -> None:
    assert case_code_hmac(KEY, "K7MQ3Z9P") != case_code_hmac(KEY[::-1], "K7MQ3Z9P")
    assert same_hmac(case_code_hmac(KEY, "A"), case_code_hmac(KEY, "a"))
    assert not same_hmac(case_code_hmac(KEY, "A"), case_code_hmac(KEY, "B"))


def _row(case_id: str, code: str | None, department: str = "food_drug") -> dict[str, Any]:
    return {
        "department": department,
        "case_id": case_id,
        "verification_code_hmac": None if code is None else case_code_hmac(KEY, code),
        "item_code": "SYJ-0202-01",
        "item_name": "食品摊贩登记",
        "received_at": dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC),
        "status": "accepted",
        "promised_deadline": dt.date(2026, 11, 5),
        "timeline": [{"event_type": "received", "at": dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)}],
    }


def test_only_the_right_code_matches() -> None:
    right = _row("SY1", "K7MQ3Z9P")
    assert matching_case([right], "k7mq-3z9p", KEY) is right
    assert matching_case([right], "K7MQ3Z9Q", KEY) is None
    assert matching_case([], "K7MQ3Z9P", KEY) is None
    # A department that sent no code: its case is never found, whatever is typed.
    assert matching_case([_row("SY1", None)], "K7MQ3Z9P", KEY) is None
    assert matching_case([_row("SY1", None)], "0" * 64, KEY) is None


def test_a_case_id_two_departments_use_is_told_apart_by_the_code() -> None:
    ours, theirs = _row("X1", "AAAA2222"), _row("X1", "BBBB3333", department="health")
    assert matching_case([ours, theirs], "BBBB3333", KEY) is theirs
    assert matching_case([ours, theirs], "AAAA2222", KEY) is ours


def test_the_answer_holds_the_timeline_and_never_the_hmac() -> None:
    served = progress_of(_row("SY1", "K7MQ3Z9P"), 7)
    assert served == {
        "case_id": "SY1",
        "department": "food_drug",
        "item_code": "SYJ-0202-01",
        "item_name": "食品摊贩登记",
        "received_at": dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC),
        "status": "accepted",
        "promised_deadline": dt.date(2026, 11, 5),
        "timeline": [{"event_type": "received", "at": dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)}],
        "gold_version": 7,
    }


def test_the_progress_query_serves_unconditional_case_data_only() -> None:
    assert progress_is_open()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_refuses_a_key_at_its_limit_until_its_oldest_failure_ages_out() -> None:
    clock = Clock()
    limiter = FailureLimiter(3, 60.0, clock=clock)
    for _ in range(2):
        limiter.failed("SY1")
        clock.now += 10
    assert limiter.retry_after("SY1") is None
    limiter.failed("SY1")  # failures at 1000, 1010, 1020
    assert limiter.retry_after("SY1") == 40  # the one at 1000 ages out at 1060; now 1020
    assert limiter.retry_after("SY2") is None
    clock.now = 1060.0
    assert limiter.retry_after("SY1") is None
    clock.now = 1060.5
    limiter.failed("SY1")  # 1010, 1020, 1060.5
    assert limiter.retry_after("SY1") == 10  # ceil(1070 - 1060.5)


def test_the_limiter_forgets_the_least_recently_failed_keys_past_its_bound() -> None:
    clock = Clock()
    limiter = FailureLimiter(1, 60.0, max_keys=2, clock=clock)
    for key in ("a", "b", "c"):
        limiter.failed(key)
    assert [limiter.retry_after(k) for k in ("a", "b", "c")] == [None, 60, 60]


def test_the_guard_limits_by_case_and_by_client() -> None:
    clock = Clock()
    guard = ProgressGuard(FailureLimiter(2, 60.0, clock=clock), FailureLimiter(3, 60.0, clock=clock))
    guard.failed("SY1", "client-a")
    guard.failed("SY1", "client-b")
    assert guard.retry_after("SY1", "client-c") == 60  # the case, whoever asks
    assert guard.retry_after("SY2", "client-a") is None
    guard.failed("SY2", "client-a")
    guard.failed("SY3", "client-a")
    assert guard.retry_after("SY4", "client-a") == 60  # the client, whatever it asks


PROGRESS_SCHEMA = pa.schema(
    [
        pa.field("department", pa.string()),
        pa.field("case_id", pa.string()),
        pa.field("verification_code_hmac", pa.string()),
        pa.field("item_code", pa.string()),
        pa.field("item_name", pa.string()),
        pa.field("received_at", pa.timestamp("us", tz="UTC")),
        pa.field("status", pa.string()),
        pa.field("promised_deadline", pa.date32()),
        pa.field(
            "timeline",
            pa.list_(
                pa.struct([pa.field("event_type", pa.string()), pa.field("at", pa.timestamp("us", tz="UTC"))])
            ),
        ),
    ]
)


def test_the_store_finds_a_case_in_each_department_that_has_its_id(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, api_refresh_seconds=0.0)
    store = CaseProgressStore(settings)
    assert store.snapshot().candidates("X1") == []
    rows = [_row("X1", "AAAA2222"), _row("X1", "BBBB3333", department="health"), _row("X2", "CCCC4444")]
    location, options = delta_rs_location(settings, "gold", "case_progress")
    write_deltalake(location, pa.Table.from_pylist(rows, schema=PROGRESS_SCHEMA), storage_options=options)
    snapshot = store.snapshot()
    assert snapshot.version == 0
    found = sorted(snapshot.candidates("X1"), key=lambda r: r["department"])
    assert found == sorted(rows[:2], key=lambda r: r["department"])
    assert snapshot.candidates("X3") == []


def test_each_simulated_case_has_its_code_from_the_seed_alone() -> None:
    first = list(District(7, 8, dt.date(2026, 11, 2)).day(dt.date(2026, 11, 2)))
    again = list(District(7, 8, dt.date(2026, 11, 2)).day(dt.date(2026, 11, 2)))
    assert [c.verification_code for c in first] == [c.verification_code for c in again]
    for case in first:
        assert len(case.verification_code) == CODE_LENGTH
        assert set(case.verification_code) <= set(CODE_ALPHABET)
        assert case.verification_code == verification_code(7, case.case_id)
    assert verification_code(7, "SY1") != verification_code(8, "SY1")


def _at(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value[part]
    return value


def test_every_department_sends_the_code_where_its_mapping_reads_it() -> None:
    """Each in its own field and shape (a nested receipt, lower case, groups of four), all of which
    normalise to the code printed on the receipt."""
    mappings = load_mappings()
    case = next(iter(District(7, 8, dt.date(2026, 11, 2)).day(dt.date(2026, 11, 2))))
    sent = {}
    for department, shape in SHAPES.items():
        path = mappings[department].fields["verification_code_hmac"]
        sent[department] = _at(shape.record(case), path)
        assert normalised_code(sent[department]) == case.verification_code
    assert len(set(sent.values())) > 1, "every department sends the code alike"
