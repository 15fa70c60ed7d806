"""gold/case_progress on hand-made silver rows: each case's status and its events in order, and
nothing about the applicant or the officers."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession

from hub.settings import DISTRICT_TIMEZONE
from jobs.case_progress import CASE_PROGRESS_COLUMNS, case_progress

pytestmark = pytest.mark.spark

CASES = (
    "department string, case_id string, subject_id string, subject_name string, item_code string, "
    "item_name string, channel string, status string, received_at timestamp, decided_at timestamp, "
    "promised_deadline date, verification_code_hmac string"
)
EVENTS = (
    "event_id string, department string, case_id string, event_type string, event_at timestamp, "
    "actor_role string, actor_id string, window_id string"
)


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=DISTRICT_TIMEZONE)


def test_each_case_gets_its_own_events_in_time_order_and_nothing_personal(spark: SparkSession) -> None:
    received = _t("2026-11-02 09:00")
    cases = spark.createDataFrame(
        [
            ("food_drug", "C1", "11010519491231002X", "陈伟", "SYJ-0202-01", "食品摊贩登记", "window",
             "completed", received, _t("2026-11-03 15:00"), dt.date(2026, 11, 5), "h1"),
            # The same case number in another department: its events are its own.
            ("health", "C1", "11010519491231002X", "陈伟", "WJJ-0101-01", None, "online",
             "accepted", received, None, dt.date(2026, 11, 20), "h2"),
            ("food_drug", "C2", "91350100M000100Y43", "某公司", "SYJ-0101-01", "食品经营许可", "kiosk",
             "accepted", received, None, None, None),
        ],
        CASES,
    )  # fmt: skip
    events = spark.createDataFrame(
        [
            # Out of order on purpose; two at the same moment are ordered by their ids.
            ("E3", "food_drug", "C1", "decided_permitted", _t("2026-11-03 15:00"), "chief", "CH001", None),
            ("E1", "food_drug", "C1", "received", _t("2026-11-02 09:00"), "window_clerk", "WI007", "W03"),
            ("E5", "food_drug", "C1", "fee_charged", _t("2026-11-03 15:00"), "window_clerk", "WI007", "W03"),
            ("E4", "food_drug", "C1", "certificate_issued", _t("2026-11-03 15:00"), "system", None, None),
            ("E2", "food_drug", "C1", "accepted", _t("2026-11-02 09:20"), "window_clerk", "WI007", "W03"),
            ("H1", "health", "C1", "received", _t("2026-11-02 09:00"), "system", None, None),
            # An event of a case silver does not hold: not anyone's timeline.
            ("X1", "food_drug", "C9", "received", _t("2026-11-02 09:00"), "system", None, None),
        ],
        EVENTS,
    )  # fmt: skip

    progress = case_progress(cases, events)

    assert progress.columns == list(CASE_PROGRESS_COLUMNS)

    def aware(value: dt.datetime) -> dt.datetime:
        # PySpark hands a timestamp back naive, in the Python process's local time.
        return value.astimezone(dt.UTC)

    local = {
        (r["department"], r["case_id"]): r.asDict(recursive=True)
        | {
            "received_at": aware(r["received_at"]),
            "timeline": [(s["event_type"], aware(s["at"])) for s in r["timeline"]],
        }
        for r in progress.collect()
    }
    at = _t

    assert local == {
        ("food_drug", "C1"): {
            "department": "food_drug",
            "case_id": "C1",
            "verification_code_hmac": "h1",
            "item_code": "SYJ-0202-01",
            "item_name": "食品摊贩登记",
            "received_at": at("2026-11-02 09:00"),
            "status": "completed",
            "promised_deadline": dt.date(2026, 11, 5),
            "timeline": [
                ("received", at("2026-11-02 09:00")),
                ("accepted", at("2026-11-02 09:20")),
                ("decided_permitted", at("2026-11-03 15:00")),
                ("certificate_issued", at("2026-11-03 15:00")),
                ("fee_charged", at("2026-11-03 15:00")),
            ],
        },
        ("health", "C1"): {
            "department": "health",
            "case_id": "C1",
            "verification_code_hmac": "h2",
            "item_code": "WJJ-0101-01",
            "item_name": None,
            "received_at": at("2026-11-02 09:00"),
            "status": "accepted",
            "promised_deadline": dt.date(2026, 11, 20),
            "timeline": [("received", at("2026-11-02 09:00"))],
        },
        ("food_drug", "C2"): {
            "department": "food_drug",
            "case_id": "C2",
            "verification_code_hmac": None,
            "item_code": "SYJ-0101-01",
            "item_name": "食品经营许可",
            "received_at": at("2026-11-02 09:00"),
            "status": "accepted",
            "promised_deadline": None,
            "timeline": [],
        },
    }
