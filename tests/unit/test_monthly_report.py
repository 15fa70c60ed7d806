"""`hub report monthly` run as an analyst runs it, on tiny marts in gold with one small cell each."""

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.settings import Settings, get_settings
from tests.analyst_mart_rows import SMALL_CELL_K, SUPPRESSED_FIGURES, write_marts

pytestmark = pytest.mark.unit


@pytest.fixture
def marts_home(own_home: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HUB_SMALL_CELL_K", str(SMALL_CELL_K))
    get_settings.cache_clear()
    settings = get_settings()
    write_marts(settings)
    return settings


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_the_monthly_report_writes_its_page_and_tables_without_small_cells(
    marts_home: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", "monthly", "--month", "2026-04", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "2026-04-satisfaction_by_department.csv",
        "2026-04-supervision_by_department.csv",
        "2026-04-throughput_by_channel.csv",
        "2026-04-throughput_by_department.csv",
        "2026-04-throughput_by_handling_tier.csv",
        "report-2026-04.html",
    ]
    assert _rows(out / "2026-04-throughput_by_department.csv") == [
        {
            "department": "food_drug",
            "received": "15",
            "accepted": "15",
            "decided": "12",
            "on_time": "6",
            "overdue": "6",
            "on_time_rate": "0.5",
            "materials_reused": "1",
            "visits_saved": "0",
        },
        {
            "department": "market_regulation",
            "received": "30",
            "accepted": "29",
            "decided": "25",
            "on_time": "25",
            "overdue": "0",
            "on_time_rate": "1.0",
            "materials_reused": "5",
            "visits_saved": "0",
        },
    ]
    assert _rows(out / "2026-04-throughput_by_channel.csv") == [
        {"channel": "window", "received": "45", "decided": "37"}
    ]
    assert _rows(out / "2026-04-supervision_by_department.csv") == [
        {"department": "food_drug", "rule": "red_card", "raised": "13", "cleared": "4"},
        {"department": "market_regulation", "rule": "yellow_card", "raised": "6", "cleared": "6"},
    ]
    # food_drug's two evaluations online are a small cell: the department has no row at all.
    assert _rows(out / "2026-04-satisfaction_by_department.csv") == [
        {
            "department": "market_regulation",
            "evaluations": "10",
            "mean_score": "3.0",
            "satisfied_share": "0.5",
            "bad_reviews": "4",
        },
    ]
    page = (out / "report-2026-04.html").read_text(encoding="utf-8")
    assert "echarts.init" in page
    assert "<script src" not in page  # ECharts is inlined: the page opens offline.
    tables = page[page.index("<h2>") :]
    for figure in SUPPRESSED_FIGURES:
        assert figure not in tables


def test_march_leaves_the_small_kiosk_and_red_card_cells_out(marts_home: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "monthly", "--month", "2026-03", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert _rows(tmp_path / "2026-03-throughput_by_handling_tier.csv") == [
        {"handling_tier": "district", "received": "40", "decided": "30"},
        {"handling_tier": "street", "received": "20", "decided": "10"},
    ]
    assert _rows(tmp_path / "2026-03-supervision_by_department.csv") == [
        {"department": "market_regulation", "rule": "yellow_card", "raised": "11", "cleared": "9"},
    ]


def test_a_malformed_month_is_refused_with_the_format(marts_home: Settings) -> None:
    result = CliRunner().invoke(app, ["report", "monthly", "--month", "2026-4"])
    assert result.exit_code == 2
    assert "expected YYYY-MM" in result.output


def test_a_month_without_data_names_the_months_with_data(marts_home: Settings) -> None:
    result = CliRunner().invoke(app, ["report", "monthly", "--month", "2025-12"])
    assert result.exit_code == 1
    assert "nothing for 2025-12" in result.output
    assert "2026-03, 2026-04" in result.output


def test_before_any_build_it_says_the_marts_are_missing(own_home: Settings) -> None:
    result = CliRunner().invoke(app, ["report", "monthly", "--month", "2026-03"])
    assert result.exit_code == 1
    assert "build the lakehouse" in result.output
