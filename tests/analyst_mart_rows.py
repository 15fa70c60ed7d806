"""Tiny analyst marts, written as `jobs/pipeline.py:build_marts` makes them (gold's
`throughput_monthly`, `supervision_monthly`, `evaluation_summary`, in Spark's types, with
`subjects`), with delta-rs: the dashboard's and the report's tests need no Spark.

With k = 3 one cell of each mart is small and must never show: its distinctive figures
(SUPPRESSED_FIGURES) are what the tests look for in everything an analyst sees.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from deltalake import write_deltalake

from hub.settings import Settings
from hub.storage import delta_rs_location

SMALL_CELL_K = 3
LONG = pa.int64()
THROUGHPUT_SCHEMA = pa.schema(
    [
        ("period", pa.date32()),
        ("department", pa.string()),
        ("item_code", pa.string()),
        ("channel", pa.string()),
        ("handling_tier", pa.string()),
        ("received", LONG),
        ("accepted", LONG),
        ("materials_reused", LONG),
        ("visits_saved", LONG),
        ("decided", LONG),
        ("on_time", LONG),
        ("overdue", LONG),
        ("median_working_days", pa.float64()),
        ("p90_working_days", pa.float64()),
        ("median_promised_days", pa.float64()),
        ("supplement_requests", LONG),
        ("backlog", LONG),
        ("subjects", LONG),
    ]
)
SUPERVISION_SCHEMA = pa.schema(
    [
        ("month", pa.string()),
        ("department", pa.string()),
        ("rule", pa.string()),
        ("raised", LONG),
        ("cleared", LONG),
        ("subjects", LONG),
    ]
)
SATISFACTION_SCHEMA = pa.schema(
    [
        ("month", pa.date32()),
        ("department", pa.string()),
        ("channel", pa.string()),
        ("evaluations", LONG),
        ("mean_score", pa.float64()),
        ("satisfied_share", pa.float64()),
        ("bad_reviews", LONG),
        ("rectified_in_time", LONG),
        ("rectified_late_or_overdue", LONG),
        ("subjects", LONG),
    ]
)

MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
REGULATION_ITEM, FOOD_ITEM = "SCJG-0101-01", "SYJ-0201-01"


def _flow(
    period: dt.date,
    cell: tuple[str, str, str, str],
    counts: tuple[int, int, int, int, int, int, int],
    days: tuple[float, float, float],
    subjects: int,
) -> dict[str, Any]:
    """A row from its cell (department, item, channel, handling tier), its counts (received,
    accepted, materials reused, visits saved, decided, on time, overdue) and its working days
    (median, 90th percentile, promised)."""
    department, item, channel, tier = cell
    received, accepted, reused, visits, decided, on_time, overdue = counts
    median, p90, promised = days
    return {
        "period": period,
        "department": department,
        "item_code": item,
        "channel": channel,
        "handling_tier": tier,
        "received": received,
        "accepted": accepted,
        "materials_reused": reused,
        "visits_saved": visits,
        "decided": decided,
        "on_time": on_time,
        "overdue": overdue,
        "median_working_days": median,
        "p90_working_days": p90,
        "median_promised_days": promised,
        "supplement_requests": 0,
        "backlog": accepted - decided,
        "subjects": subjects,
    }


REGULATION_WINDOW = ("market_regulation", REGULATION_ITEM, "window", "district")
THROUGHPUT = [
    _flow(MARCH, REGULATION_WINDOW, (40, 38, 12, 0, 30, 27, 3), (4.0, 7.0, 5.0), 35),
    _flow(
        MARCH,
        ("market_regulation", REGULATION_ITEM, "online", "street"),
        (20, 20, 3, 20, 10, 10, 0),
        (2.0, 3.0, 5.0),
        18,
    ),
    # The small cell: two applicants at the kiosk.
    _flow(
        MARCH, ("food_drug", FOOD_ITEM, "kiosk", "community"), (9, 9, 4, 9, 8, 1, 7), (31.5, 47.5, 10.0), 2
    ),
    _flow(
        APRIL, ("food_drug", FOOD_ITEM, "window", "district"), (15, 15, 1, 0, 12, 6, 6), (9.0, 14.0, 10.0), 14
    ),
    _flow(APRIL, REGULATION_WINDOW, (30, 29, 5, 0, 25, 25, 0), (3.0, 5.0, 5.0), 25),
]
SUPERVISION = [
    {
        "month": "2026-03",
        "department": "market_regulation",
        "rule": "yellow_card",
        "raised": 11,
        "cleared": 9,
        "subjects": 10,
    },
    # The small cell: two red cards, on two applicants' cases.
    {
        "month": "2026-03",
        "department": "market_regulation",
        "rule": "red_card",
        "raised": 2,
        "cleared": 0,
        "subjects": 2,
    },
    {
        "month": "2026-04",
        "department": "food_drug",
        "rule": "red_card",
        "raised": 13,
        "cleared": 4,
        "subjects": 12,
    },
    {
        "month": "2026-04",
        "department": "market_regulation",
        "rule": "yellow_card",
        "raised": 6,
        "cleared": 6,
        "subjects": 6,
    },
]
SATISFACTION = [
    {
        "month": MARCH,
        "department": "market_regulation",
        "channel": "window_device",
        "evaluations": 30,
        "mean_score": 4.0,
        "satisfied_share": 0.9,
        "bad_reviews": 2,
        "rectified_in_time": 2,
        "rectified_late_or_overdue": 0,
        "subjects": 28,
    },
    {
        "month": APRIL,
        "department": "market_regulation",
        "channel": "online",
        "evaluations": 10,
        "mean_score": 3.0,
        "satisfied_share": 0.5,
        "bad_reviews": 4,
        "rectified_in_time": 3,
        "rectified_late_or_overdue": 1,
        "subjects": 9,
    },
    # The small cell: two evaluations online.
    {
        "month": APRIL,
        "department": "food_drug",
        "channel": "online",
        "evaluations": 2,
        "mean_score": 1.37,
        "satisfied_share": 0.0,
        "bad_reviews": 2,
        "rectified_in_time": 0,
        "rectified_late_or_overdue": 2,
        "subjects": 2,
    },
]
# Figures only the small cells hold: none may appear anywhere an analyst looks.
SUPPRESSED_FIGURES = ("31.5", "47.5", "1.37")


def write_marts(settings: Settings) -> None:
    for name, rows, schema in (
        ("throughput_monthly", THROUGHPUT, THROUGHPUT_SCHEMA),
        ("supervision_monthly", SUPERVISION, SUPERVISION_SCHEMA),
        ("evaluation_summary", SATISFACTION, SATISFACTION_SCHEMA),
    ):
        location, options = delta_rs_location(settings, "gold", name)
        write_deltalake(
            location, pa.Table.from_pylist(rows, schema=schema), mode="overwrite", storage_options=options
        )
