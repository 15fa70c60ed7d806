"""`hub report monthly`: one month's throughput and supervision report, as an HTML page with its
charts and one CSV per table behind it, from the analyst marts with small cells suppressed.

The page inlines ECharts (the file `make setup` bundles from npm for the dashboard), so it opens
offline, mailed or archived, with nothing fetched from anywhere.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.analyst_figures import Marts, Row, code_labels, load_marts, monthly_report_tables
from hub.settings import REPO_ROOT, Settings

# Where `make setup` copies ECharts from its npm install; the API serves the folder as the
# dashboard's static files.
ECHARTS_BUNDLE = REPO_ROOT / "api" / "dashboard" / "static" / "echarts.min.js"

# Each table's columns in order, so a month without rows still gets a CSV with its header.
COLUMNS: dict[str, tuple[str, ...]] = {
    "throughput_by_department": (
        "department",
        "received",
        "accepted",
        "decided",
        "on_time",
        "overdue",
        "on_time_rate",
        "materials_reused",
        "visits_saved",
    ),
    "throughput_by_channel": ("channel", "received", "decided"),
    "throughput_by_handling_tier": ("handling_tier", "received", "decided"),
    "supervision_by_department": ("department", "rule", "raised", "cleared"),
    "satisfaction_by_department": (
        "department",
        "evaluations",
        "mean_score",
        "satisfied_share",
        "bad_reviews",
    ),
}
TITLES = {
    "throughput_by_department": "各部门受理与办结 Throughput by department",
    "throughput_by_channel": "各渠道受理与办结 Throughput by channel",
    "throughput_by_handling_tier": "各办理层级受理与办结 Throughput by handling tier",
    "supervision_by_department": "电子监察预警 Supervision alerts by department and rule",
    "satisfaction_by_department": "好差评 Satisfaction by department",
}
RULES = {
    "yellow_card": "黄牌",
    "red_card": "红牌",
    "not_accepted": "不予受理",
    "not_permitted": "不予许可",
    "repeated_supplement": "多次补正",
    "fee_on_free_item": "免费事项收费",
    "fee_above_standard": "超标准收费",
    "materials_incomplete": "材料不齐",
    "insufficient_basis": "依据不足",
}


class EmptyMonthError(LookupError):
    """The marts hold nothing (shown) for the month asked for."""


@dataclass(frozen=True)
class MonthlyReport:
    html: Path
    csvs: list[Path]


def _zh(code_list: str, code: str) -> str:
    return code_labels(code_list).get(code, {"zh": code})["zh"]


def charts(tables: dict[str, list[Row]]) -> dict[str, dict[str, Any]]:
    """The ECharts options of the report's charts, by the id of the element each is drawn in."""
    flows = tables["throughput_by_department"]
    departments = [_zh("department", r["department"]) for r in flows]
    alerts = tables["supervision_by_department"]
    alert_departments = sorted({r["department"] for r in alerts})
    rules = sorted({r["rule"] for r in alerts})
    raised = {(r["department"], r["rule"]): r["raised"] for r in alerts}
    category = {"type": "category", "axisLabel": {"interval": 0, "rotate": 30}}
    # A report is read, printed and archived as it is drawn: no animation to catch half-way.
    still = {"animation": False}
    drawn = {
        "chart-throughput": {
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"bottom": 90},
            "xAxis": category | {"data": departments},
            "yAxis": {"type": "value"},
            "series": [
                {"name": "受理 received", "type": "bar", "data": [r["received"] for r in flows]},
                {"name": "办结 decided", "type": "bar", "data": [r["decided"] for r in flows]},
                {"name": "逾期 overdue", "type": "bar", "data": [r["overdue"] for r in flows]},
            ],
        },
        "chart-on-time": {
            "tooltip": {"trigger": "axis"},
            "grid": {"bottom": 90},
            "xAxis": category | {"data": departments},
            "yAxis": {"type": "value", "max": 100, "name": "%"},
            "series": [
                {
                    "name": "按时办结率 on-time rate",
                    "type": "bar",
                    "data": [
                        None if r["on_time_rate"] is None else round(100 * r["on_time_rate"], 1)
                        for r in flows
                    ],
                }
            ],
        },
        "chart-supervision": {
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"bottom": 90},
            "xAxis": category | {"data": [_zh("department", d) for d in alert_departments]},
            "yAxis": {"type": "value"},
            "series": [
                {
                    "name": f"{RULES.get(rule, rule)} {rule}",
                    "type": "bar",
                    "stack": "alerts",
                    "data": [raised.get((d, rule)) for d in alert_departments],
                }
                for rule in rules
            ],
        },
        "chart-channel": {
            "tooltip": {"trigger": "item"},
            "legend": {"top": 0},
            "series": [
                {
                    "name": "受理 received",
                    "type": "pie",
                    "radius": ["35%", "65%"],
                    "data": [
                        {"name": _zh("channel", r["channel"]), "value": r["received"]}
                        for r in tables["throughput_by_channel"]
                    ],
                }
            ],
        },
    }
    return {chart_id: still | option for chart_id, option in drawn.items()}


def _cell(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _table(month: str, name: str, rows: list[Row]) -> str:
    columns = COLUMNS[name]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r[c])}</td>" for c in columns) + "</tr>" for r in rows)
    return (
        f'<h2>{html.escape(TITLES[name])}</h2><p class="file">{month}-{name}.csv</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _script_json(value: Any) -> str:
    # JSON inside <script>: "</" would end the element early.
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def report_html(month: str, tables: dict[str, list[Row]], small_cell_k: int, echarts_js: str) -> str:
    """The report page: its charts drawn by the inlined ECharts, and its tables."""
    chart_titles = {
        "chart-throughput": "受理、办结与逾期 Received, decided and overdue",
        "chart-on-time": "按时办结率 On-time rate",
        "chart-supervision": "电子监察预警 Supervision alerts",
        "chart-channel": "渠道构成 Channel mix",
    }
    sections = "".join(
        f'<section><h2>{html.escape(title)}</h2><div class="chart" id="{chart_id}"></div></section>'
        for chart_id, title in chart_titles.items()
    )
    tables_html = "".join(_table(month, name, tables[name]) for name in COLUMNS)
    # Inlined, the bundle must not close its own <script> element.
    library = echarts_js.replace("</script", "<\\/script")
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>政务服务效能月报 {month} Monthly report</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif;
  margin: 1rem 2rem; color: #1f2933; }}
.charts {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }}
.chart {{ height: 320px; }}
table {{ border-collapse: collapse; margin-bottom: 1rem; }}
th, td {{ border: 1px solid #cbd2d9; padding: 0.2rem 0.6rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.file, .notice {{ color: #52606d; font-size: 0.9rem; }}
</style>
<script>{library}</script>
</head>
<body>
<h1>政务服务效能月报 {month}<br><small>Approval services monthly report, {month}</small></h1>
<p class="notice">覆盖主体少于 {small_cell_k} 个的统计单元不予显示，也不计入任何合计。
Cells covering fewer than {small_cell_k} subjects are suppressed and left out of every total.</p>
<div class="charts">{sections}</div>
{tables_html}
<script>
const CHARTS = {_script_json(charts(tables))};
for (const [id, option] of Object.entries(CHARTS)) {{
  echarts.init(document.getElementById(id), null, {{ renderer: "svg" }}).setOption(option);
}}
</script>
</body>
</html>
"""


def write_csv(path: Path, rows: Sequence[Row], columns: Sequence[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)


def write_monthly_report(marts: Marts, month: str, out_dir: Path, small_cell_k: int) -> MonthlyReport:
    """Write `report-YYYY-MM.html` and `YYYY-MM-<table>.csv` into `out_dir`."""
    tables = monthly_report_tables(marts, month)
    if not any(tables.values()):
        months = sorted({r["month"] for r in [*marts.throughput, *marts.supervision, *marts.satisfaction]})
        raise EmptyMonthError(
            f"the marts show nothing for {month}; months with data: {', '.join(months) or 'none'}"
        )
    if not ECHARTS_BUNDLE.exists():
        raise FileNotFoundError(
            f"the report's charting library is missing ({ECHARTS_BUNDLE}): run make setup"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    csvs = []
    for name, columns in COLUMNS.items():
        path = out_dir / f"{month}-{name}.csv"
        write_csv(path, tables[name], columns)
        csvs.append(path)
    page = out_dir / f"report-{month}.html"
    page.write_text(
        report_html(month, tables, small_cell_k, ECHARTS_BUNDLE.read_text(encoding="utf-8")), encoding="utf-8"
    )
    return MonthlyReport(page, csvs)


def monthly_report(settings: Settings, month: str, out_dir: Path | None = None) -> MonthlyReport:
    """The month's report from the marts in gold, into `out_dir` (default: `reports/` in the home)."""
    return write_monthly_report(
        load_marts(settings), month, out_dir or settings.home / "reports", settings.small_cell_k
    )
