"""Small-cell suppression of the analyst marts on tiny hand-made tables, and the mart read back from
a Delta table written with delta-rs."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import write_deltalake

from hub.analyst_marts import (
    ANALYST_MARTS,
    NotAnAnalystMartError,
    VisibleTotal,
    analyst_mart,
    load_mart,
    mart_location,
    suppress,
    suppressed_cells,
    visible_total,
)
from hub.settings import Settings

pytestmark = pytest.mark.unit

MONTHLY = ANALYST_MARTS["supervision_monthly"]


def _alerts(subjects: list[int | None]) -> pa.Table:
    """supervision_monthly rows, one per department d0, d1, …, with the given subject counts."""
    n = len(subjects)
    return pa.table(
        {
            "month": ["2026-10"] * n,
            "department": [f"d{i}" for i in range(n)],
            "rule": ["red_card"] * n,
            "raised": pa.array([10 * (i + 1) for i in range(n)], pa.int64()),
            "cleared": pa.array(list(range(n)), pa.int64()),
            "subjects": pa.array(subjects, pa.int64()),
        }
    )


def test_a_cell_below_k_keeps_its_grain_and_loses_its_figures() -> None:
    shown = suppress(_alerts([3, 5, 9, None]), MONTHLY, k=5).to_pylist()
    assert shown == [
        {"month": "2026-10", "department": "d0", "rule": "red_card", "raised": None, "cleared": None,
         "subjects": None, "suppressed": True},
        # Exactly k subjects is enough.
        {"month": "2026-10", "department": "d1", "rule": "red_card", "raised": 20, "cleared": 1,
         "subjects": 5, "suppressed": False},
        {"month": "2026-10", "department": "d2", "rule": "red_card", "raised": 30, "cleared": 2,
         "subjects": 9, "suppressed": False},
        # Nobody knows how many applicants it covers: suppressed.
        {"month": "2026-10", "department": "d3", "rule": "red_card", "raised": None, "cleared": None,
         "subjects": None, "suppressed": True},
    ]  # fmt: skip


def test_measures_of_every_type_are_nulled_and_keep_their_type() -> None:
    mart = ANALYST_MARTS["consistency"]
    row = {
        "item_code": "I",
        "handling_tier": "street",
        "window_id": "W1",
        "officer_id": "O1",
        "decisions": 4,
        "permit_share": 0.25,
        "median_working_days": 2.0,
        "max_working_days": 6,
        "item_permit_share": 0.7,
        "item_median_working_days": 1.5,
        "outlier_permit_share": False,
        "outlier_slow": True,
        "subjects": 4,
    }
    table = pa.Table.from_pylist([row, row | {"window_id": "W2", "subjects": 12}])
    shown = suppress(table, mart, k=10)
    assert shown.schema.field("outlier_slow").type == pa.bool_()
    small, large = shown.to_pylist()
    assert {c for c, v in small.items() if v is not None} == {*mart.grain, "suppressed"}
    assert large == row | {"window_id": "W2", "subjects": 12, "suppressed": False}
    assert suppressed_cells(shown) == 1


def test_a_column_not_declared_is_refused_rather_than_passed_through() -> None:
    with pytest.raises(ValueError, match=r"gold/supervision_monthly.*undeclared \['subject_id'\]"):
        suppress(_alerts([20]).append_column("subject_id", pa.array(["110101199003070015"])), MONTHLY, 5)
    with pytest.raises(ValueError, match=r"missing \['subjects'\]"):
        suppress(_alerts([20]).drop_columns(["subjects"]), MONTHLY, 5)
    with pytest.raises(ValueError, match="2 or more"):
        suppress(_alerts([20]), MONTHLY, 1)


def test_a_coarser_total_sums_only_visible_cells_and_says_how_many_it_left_out() -> None:
    shown = suppress(_alerts([2, 20, 30]), MONTHLY, k=10)
    # d0's 10 raised alerts are not in the total, so total minus the visible cells reveals nothing.
    assert visible_total(shown, "raised") == VisibleTotal(50, 1)
    only_d0 = visible_total(shown, "raised", pc.field("department") == "d0")
    assert (only_d0.total, only_d0.suppressed_cells) == (0, 1)


def test_only_analyst_marts_can_be_named() -> None:
    assert analyst_mart("throughput_daily").grain[0] == "period"
    with pytest.raises(NotAnAnalystMartError, match="'subject_profile' is not an analyst mart"):
        analyst_mart("subject_profile")


def test_load_mart_reads_gold_with_delta_rs_and_suppresses_with_the_settings_k(tmp_path) -> None:
    settings = Settings(home=tmp_path, small_cell_k=4)
    location, options = mart_location(settings, "supervision_monthly")
    write_deltalake(location, _alerts([3, 4]), storage_options=options)
    write_deltalake(location, _alerts([3, 4, 8]), mode="overwrite", storage_options=options)
    latest = load_mart(settings, "supervision_monthly")
    assert latest["suppressed"].to_pylist() == [True, False, False]
    assert latest["raised"].to_pylist() == [None, 20, 30]
    assert load_mart(settings, "supervision_monthly", version=0).num_rows == 2


def test_k_comes_from_the_environment_and_must_be_two_or_more(monkeypatch) -> None:
    monkeypatch.setenv("HUB_SMALL_CELL_K", "25")
    assert Settings().small_cell_k == 25
    assert Settings.model_fields["small_cell_k"].default == 10
    monkeypatch.setenv("HUB_SMALL_CELL_K", "1")
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        Settings()


def test_a_mart_date_grain_survives_suppression() -> None:
    mart = ANALYST_MARTS["throughput_monthly"]
    row: dict[str, object] = dict.fromkeys(mart.columns, 1)
    row |= {"period": dt.date(2026, 9, 1), "department": "d", "item_code": "I", "channel": "online",
            "handling_tier": "district", "median_working_days": 1.0, "subjects": 1}  # fmt: skip
    shown = suppress(pa.Table.from_pylist([row]), mart, k=10).to_pylist()[0]
    assert shown["period"] == dt.date(2026, 9, 1)
    assert shown["backlog"] is None
