import datetime as dt
from typing import Any

import pytest

from hub.analyst_figures import Filters, Marts, bilingual, dashboard, monthly_report_tables, options

pytestmark = pytest.mark.unit

MEASURES = (
    "received",
    "accepted",
    "decided",
    "on_time",
    "overdue",
    "materials_reused",
    "visits_saved",
    "supplement_requests",
    "median_working_days",
    "p90_working_days",
    "median_promised_days",
)


def flow(
    month: str,
    department: str,
    item: str,
    channel: str,
    *,
    tier: str = "district",
    suppressed: bool = False,
    **measures: float,
) -> dict[str, Any]:
    row = {
        "period": dt.date.fromisoformat(f"{month}-01"),
        "department": department,
        "item_code": item,
        "channel": channel,
        "handling_tier": tier,
        "suppressed": suppressed,
    }
    return row | {m: measures.get(m, 0) for m in MEASURES}


# Two months, two departments. The suppressed cell (food_drug, kiosk, March) keeps figures here,
# 777 received and 555 overdue, that hub.analyst_marts would have nulled: the flag alone must keep
# it out of every sum.
THROUGHPUT = [
    flow(
        "2026-03",
        "market_regulation",
        "SCJG-0101-01",
        "window",
        received=40,
        accepted=38,
        decided=30,
        on_time=27,
        overdue=3,
        materials_reused=12,
        visits_saved=0,
        median_working_days=4.0,
        p90_working_days=7.0,
        median_promised_days=5.0,
    ),
    flow(
        "2026-03",
        "market_regulation",
        "SCJG-0101-01",
        "online",
        tier="street",
        received=20,
        accepted=20,
        decided=10,
        on_time=10,
        materials_reused=3,
        visits_saved=20,
        median_working_days=2.0,
        p90_working_days=3.0,
        median_promised_days=5.0,
    ),
    flow("2026-03", "food_drug", "SYJ-0201-01", "kiosk", suppressed=True, received=777, overdue=555),
    flow(
        "2026-04",
        "food_drug",
        "SYJ-0201-01",
        "window",
        received=15,
        accepted=15,
        decided=12,
        on_time=6,
        overdue=6,
        materials_reused=1,
        median_working_days=9.0,
        p90_working_days=14.0,
        median_promised_days=10.0,
    ),
]
SUPERVISION: list[dict[str, Any]] = [
    {
        "month": "2026-03",
        "department": "market_regulation",
        "rule": "yellow_card",
        "raised": 11,
        "cleared": 9,
        "suppressed": False,
    },
    {
        "month": "2026-03",
        "department": "market_regulation",
        "rule": "red_card",
        "raised": None,
        "cleared": None,
        "suppressed": True,
    },
    {
        "month": "2026-04",
        "department": "food_drug",
        "rule": "red_card",
        "raised": 13,
        "cleared": 2,
        "suppressed": False,
    },
    {
        "month": "2026-04",
        "department": "food_drug",
        "rule": "not_accepted",
        "raised": 20,
        "cleared": 0,
        "suppressed": False,
    },
]
SATISFACTION: list[dict[str, Any]] = [
    {
        "month": dt.date(2026, 3, 1),
        "department": "market_regulation",
        "channel": "window_device",
        "evaluations": 30,
        "mean_score": 4.0,
        "satisfied_share": 0.9,
        "bad_reviews": 2,
        "suppressed": False,
    },
    {
        "month": dt.date(2026, 3, 1),
        "department": "market_regulation",
        "channel": "online",
        "evaluations": 10,
        "mean_score": 3.0,
        "satisfied_share": 0.5,
        "bad_reviews": 4,
        "suppressed": False,
    },
    {
        "month": dt.date(2026, 3, 1),
        "department": "food_drug",
        "channel": "online",
        "evaluations": None,
        "mean_score": None,
        "satisfied_share": None,
        "bad_reviews": None,
        "suppressed": True,
    },
]
MARTS = Marts.of(
    {"throughput_monthly": THROUGHPUT, "supervision_monthly": SUPERVISION, "evaluation_summary": SATISFACTION}
)


def test_every_figure_sums_shown_cells_only() -> None:
    data = dashboard(MARTS, Filters())
    assert data["months"] == ["2026-03", "2026-04"]
    by_department = {s["department"]: s for s in data["throughput"]}
    assert by_department["market_regulation"]["received"] == [60, None]
    assert by_department["food_drug"]["received"] == [None, 15]
    assert data["on_time"] == {"decided": [40, 12], "on_time": [37, 6], "rate": [0.925, 0.5]}
    assert data["overdue"]["departments"] == ["food_drug", "market_regulation"]
    assert sorted(data["overdue"]["cells"]) == [[0, 1, 3], [1, 0, 6]]
    assert data["channel_mix"] == [
        {"channel": "online", "received": 20},
        {"channel": "window", "received": 55},
    ]
    assert data["tier_mix"] == [
        {"handling_tier": "district", "received": 55},
        {"handling_tier": "street", "received": 20},
    ]
    assert data["supervision_cards"] == {"yellow_card": [11, None], "red_card": [None, 13]}
    assert data["satisfaction"] == {
        "evaluations": [40, None],
        "mean_score": [3.75, None],
        "satisfied_share": [0.8, None],
    }
    assert data["reuse"] == {"materials_reused": [15, 1], "visits_saved": [20, 0]}
    assert "777" not in repr(data)
    assert "555" not in repr(data)


def test_processing_time_weighs_each_cell_by_its_decisions() -> None:
    (regulation, food) = dashboard(MARTS, Filters())["processing_time"]
    # (4 x 30 + 2 x 10) / 40 decided
    assert regulation == {
        "item_code": "SCJG-0101-01",
        "decided": 40,
        "median_working_days": 3.5,
        "p90_working_days": 6.0,
        "promised_days": 5.0,
    }
    assert food["median_working_days"] == 9.0


def test_filters_narrow_each_mart_by_the_columns_it_has() -> None:
    data = dashboard(MARTS, Filters(department="market_regulation", channel="online", month="2026-03"))
    assert data["months"] == ["2026-03"]
    assert data["on_time"]["decided"] == [10]
    assert data["channel_mix"] == [{"channel": "online", "received": 20}]
    # Supervision and satisfaction have no case channel: the department and month still apply.
    assert data["supervision_cards"] == {"yellow_card": [11], "red_card": [None]}
    assert data["satisfaction"]["evaluations"] == [40]
    assert data["filters"] == {"department": "market_regulation", "channel": "online", "month": "2026-03"}


def test_a_filter_with_nothing_shown_gives_empty_figures() -> None:
    data = dashboard(MARTS, Filters(department="food_drug", channel="kiosk"))
    assert data["throughput"] == []
    assert data["channel_mix"] == []
    # April is on the axis for food_drug's supervision cards, with no throughput to show.
    assert data["months"] == ["2026-04"]
    assert data["on_time"] == {"decided": [None], "on_time": [None], "rate": [None]}
    assert data["supervision_cards"]["red_card"] == [13]


def test_filters_refuse_a_malformed_month() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        Filters(month="2026-13")


def test_options_list_shown_values_with_both_languages() -> None:
    listed = options(MARTS)
    assert listed["months"] == ["2026-03", "2026-04"]
    assert [d["code"] for d in listed["departments"]] == ["food_drug", "market_regulation"]
    assert listed["departments"][1]["zh"] == "区市场监督管理局"
    assert listed["departments"][1]["en"] == "District Market Supervision Administration"
    # The kiosk's only cell is suppressed: not even the option shows it had cases.
    assert [c["code"] for c in listed["channels"]] == ["online", "window"]


def test_bilingual_splits_a_code_label() -> None:
    assert bilingual("Service hall window (窗口)") == {"en": "Service hall window", "zh": "窗口"}
    assert bilingual("plain") == {"en": "plain", "zh": "plain"}


def test_monthly_report_tables() -> None:
    tables = monthly_report_tables(MARTS, "2026-03")
    assert tables["throughput_by_department"] == [
        {
            "department": "market_regulation",
            "received": 60,
            "accepted": 58,
            "decided": 40,
            "on_time": 37,
            "overdue": 3,
            "materials_reused": 15,
            "visits_saved": 20,
            "on_time_rate": 0.925,
        }
    ]
    assert tables["throughput_by_channel"] == [
        {"channel": "online", "received": 20, "decided": 10},
        {"channel": "window", "received": 40, "decided": 30},
    ]
    assert tables["supervision_by_department"] == [
        {"department": "market_regulation", "rule": "yellow_card", "raised": 11, "cleared": 9}
    ]
    assert tables["satisfaction_by_department"] == [
        {
            "department": "market_regulation",
            "evaluations": 40,
            "mean_score": 3.75,
            "satisfied_share": 0.8,
            "bad_reviews": 6,
        }
    ]
