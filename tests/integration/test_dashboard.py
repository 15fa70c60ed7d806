"""The analysts' dashboard as an analyst uses it: the API over real HTTP on tiny marts in gold (one
small cell each), the page in Debian's headless Chromium driven by Playwright; and the monthly
report's page opened from disk in the same browser. Each test keeps a screenshot under
`test-artifacts/`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from api.main import create_app
from hub.monthly_report import monthly_report
from hub.serving import BackgroundServer
from hub.settings import REPO_ROOT, Settings
from tests.analyst_mart_rows import SMALL_CELL_K, SUPPRESSED_FIGURES, write_marts
from tests.api_client import problem

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHARTS = (
    "chart-throughput",
    "chart-on-time",
    "chart-overdue",
    "chart-channel",
    "chart-tier",
    "chart-processing",
    "chart-supervision",
    "chart-satisfaction",
    "chart-reuse",
)


@pytest.fixture(scope="module")
def settings(hub_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = hub_settings.model_copy(
        update={
            "home": Path(tmp_path_factory.mktemp("dashboard-home")),
            "api_refresh_seconds": 0.0,
            "small_cell_k": SMALL_CELL_K,
        }
    )
    write_marts(settings)
    return settings


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(settings)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        # Not a skip: the dashboard's test is part of what CI must prove. `make test` installs it.
        raise RuntimeError(
            f"no {CHROMIUM}: run the tests through `make test`, which installs Debian's chromium"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def _screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def _errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions the page reports from now on."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _chart_options(page: Page) -> dict[str, Any]:
    """Each chart's option as ECharts holds it after drawing."""
    options: dict[str, Any] = page.evaluate(
        """ids => Object.fromEntries(ids.map(id => {
            const chart = echarts.getInstanceByDom(document.getElementById(id));
            return [id, chart ? chart.getOption() : null];
        }))""",
        list(CHARTS),
    )
    return options


def _has_data(option: dict[str, Any] | None) -> bool:
    if not option:
        return False
    values = [v for s in option["series"] for v in s["data"]]
    return any(v is not None and v != [] for v in values)


def _pie(option: dict[str, Any]) -> dict[str, int]:
    return {slice_["name"]: slice_["value"] for slice_ in option["series"][0]["data"]}


def _wait_for_render(page: Page, count: int) -> None:
    page.wait_for_function("n => window.dashboardRenders >= n", arg=count, timeout=15_000)


def test_the_dashboard_draws_every_chart_and_follows_the_filters(
    served: BackgroundServer, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = _errors(page)
    page.goto(f"{served.url}/dashboard")
    _wait_for_render(page, 1)

    assert page.inner_text("h1") == "政务服务效能看板"
    assert f"少于 {SMALL_CELL_K} 个" in page.inner_text("#notice")
    options = _chart_options(page)
    assert [chart for chart in CHARTS if not _has_data(options[chart])] == []
    # Every case but the small kiosk cell's, by channel and by tier.
    assert _pie(options["chart-channel"]) == {"窗口": 85, "网上办事大厅": 20}
    assert _pie(options["chart-tier"]) == {"区级": 85, "街道": 20}
    assert options["chart-supervision"]["series"][1]["data"] == [None, 13]  # red cards, March's small
    assert options["chart-on-time"]["series"][0]["data"] == [40, 37]
    seen = page.content() + json.dumps(options)
    assert [figure for figure in SUPPRESSED_FIGURES if figure in seen] == []
    _screenshot(page, "dashboard.png")

    page.select_option("select[name=department]", "food_drug")
    _wait_for_render(page, 2)
    narrowed = _chart_options(page)
    assert _pie(narrowed["chart-channel"]) == {"窗口": 15}
    assert narrowed["chart-on-time"]["series"][0]["data"] == [12]
    assert [s["name"] for s in narrowed["chart-throughput"]["series"]] == [
        "区食品药品监督管理局 受理",
        "区食品药品监督管理局 办结",
    ]

    page.click("#language")
    assert page.inner_text("h1") == "Approval services dashboard"
    english = _chart_options(page)
    assert _pie(english["chart-channel"]) == {"Service hall window": 15}
    assert page.input_value("select[name=department]") == "food_drug"
    _screenshot(page, "dashboard-food-drug-en.png")
    assert errors == []
    page.close()


def test_the_data_endpoint_never_sends_a_small_cell(served: BackgroundServer) -> None:
    for params in ({}, {"department": "food_drug", "channel": "kiosk"}, {"department": "food_drug"}):
        response = httpx.get(f"{served.url}/dashboard/data", params=params, timeout=10)
        assert response.status_code == 200, response.text
        assert [figure for figure in SUPPRESSED_FIGURES if figure in response.text] == [], params
    # The kiosk's only cell is small: filtering on it finds no throughput at all.
    assert (
        httpx.get(f"{served.url}/dashboard/data", params={"channel": "kiosk"}, timeout=10).json()[
            "channel_mix"
        ]
        == []
    )


def test_the_data_endpoint_refuses_a_bad_filter_with_its_reason(served: BackgroundServer) -> None:
    bad_month = httpx.get(f"{served.url}/dashboard/data", params={"month": "2026-3"}, timeout=10)
    assert problem(bad_month, 422)["detail"] == "month must be YYYY-MM, e.g. 2026-03; got '2026-3'"
    unknown = httpx.get(f"{served.url}/dashboard/data", params={"department": "tax"}, timeout=10)
    assert "unknown department 'tax'" in problem(unknown, 422)["detail"]


def test_before_any_build_the_data_endpoint_says_so(hub_settings: Settings, tmp_path: Path) -> None:
    empty = hub_settings.model_copy(update={"home": tmp_path})
    with BackgroundServer(create_app(empty)) as running:
        response = httpx.get(f"{running.url}/dashboard/data", timeout=10)
    assert "build the lakehouse" in problem(response, 503)["detail"]


def test_the_monthly_report_opens_offline_with_its_charts(
    settings: Settings, browser: Browser, tmp_path: Path
) -> None:
    report = monthly_report(settings, "2026-03", tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = _errors(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.html.as_uri())
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('.chart')].map(el => {
            const chart = echarts.getInstanceByDom(el);
            return chart ? chart.getOption().series.length : 0;
        })"""
    )
    assert drawn == [3, 1, 1, 1]
    assert page.locator(".chart svg").count() == 4
    assert requested == [report.html.as_uri()]
    assert [figure for figure in SUPPRESSED_FIGURES if figure in page.inner_text("body")] == []
    _screenshot(page, "report-2026-03.png")
    assert errors == []
    page.close()
