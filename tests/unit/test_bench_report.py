"""The README's benchmark tables, rendered from hand-made results."""

import pytest

from bench.report import growth_table, table

pytestmark = pytest.mark.unit


def _lakehouse(cases: int, floor: float, full: float, increment: float) -> dict[str, object]:
    return {
        "benchmark": "lakehouse_build",
        "cases": cases,
        "cases_in_silver": cases,
        "events_in_silver": 3 * cases,
        "batches": 70,
        "floor_seconds_median": floor,
        "full_build_seconds_median": full,
        "full_build_ratio": round(full / floor, 2),
        "full_build_stages_median": {"silver": full},
        "increment_cases": cases // 100,
        "increment_seconds_median": increment,
        "increment_stages_median": {"silver": increment},
        "increment_ratio": increment / full,
        "target_full_build_ratio": 3,
        "target_increment_ratio": 0.1,
    }


def test_growth_compares_each_volume_with_the_next_smaller_one() -> None:
    runs = [_lakehouse(1000, 40.0, 400.0, 200.0), _lakehouse(100, 10.0, 80.0, 100.0)]

    (row,) = growth_table(runs).splitlines()[2:]

    assert row == (
        "| lakehouse build | 100 cases | 1,000 cases | x10.00 | x4.00 "
        "| full build x5.00, 1% increment x2.00 |"
    )


def test_an_unfinished_build_is_in_the_table_but_not_in_the_growth() -> None:
    unfinished = _lakehouse(1000, 40.0, 400.0, 200.0) | {
        "complete": False,
        "failed": {"stage": "silver", "seconds": 900.0, "error": "Java heap space"},
        "full_build_stages": {"bronze": 50.0},
        "full_build_seconds_at_least": 950.0,
        "full_build_ratio_at_least": 23.75,
    }

    assert "did not finish" in table([unfinished])
    assert growth_table([_lakehouse(100, 10.0, 80.0, 100.0), unfinished]).count("\n") == 1


def test_runs_from_different_sittings_are_flagged() -> None:
    small = _lakehouse(100, 10.0, 80.0, 100.0) | {"measured_at": "2026-11-26T10:00:00+00:00"}
    large = _lakehouse(1000, 40.0, 400.0, 200.0) | {"measured_at": "2026-11-27T10:00:00+00:00"}

    assert "not one sitting" in growth_table([small, large])
    assert "not one sitting" not in growth_table([small, large | {"measured_at": small["measured_at"]}])


def test_the_smallest_increment_is_read_against_the_full_build() -> None:
    run = _lakehouse(1000, 40.0, 400.0, 200.0) | {
        "smallest_increment_department": "health",
        "smallest_increment_records_in_bronze": 1234,
        "smallest_increment_seconds_median": 120.0,
        "smallest_increment_ratio": 0.3,
        "smallest_increment_stages_median": {"silver": 60.0, "gold": 60.0},
    }

    (row,) = [line for line in table([run]).splitlines() if "smallest increment" in line]

    assert "(health; silver 60 s, gold 60 s)" in row
    assert "| 1,234 records | 400.0 s | 120.0 s | 30% |" in row
    assert "smallest increment" not in table([_lakehouse(1000, 40.0, 400.0, 200.0)])
