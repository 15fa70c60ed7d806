"""What the analysts' dashboard and monthly report show, computed from the marts as
`hub.analyst_marts` serves them: small cells already suppressed (their figures null, `suppressed`
true). Pure functions over rows (dicts), so each figure is tested on a handful of hand-made rows.

Every figure is a sum (or a weighted mean) over the cells that are shown: a suppressed cell adds
nothing anywhere, so no total, share or mean lets anyone work a suppressed figure back out by
subtracting the shown ones. A total of shown cells covers at least as many subjects as its
largest cell, so it is never a small cell itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hub.settings import Settings
from quality.contracts import load_code_labels

Row = dict[str, Any]
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
# The supervision mart's rules that are time limit cards (电子监察的黄牌、红牌).
CARDS = ("yellow_card", "red_card")
# The marts the figures read, by the name `hub.analyst_marts.load_mart` knows them by.
THROUGHPUT, SUPERVISION, SATISFACTION = "throughput_monthly", "supervision_monthly", "evaluation_summary"
MARTS = (THROUGHPUT, SUPERVISION, SATISFACTION)


def month_of(value: dt.date | str) -> str:
    """YYYY-MM of a mart's month: the throughput and satisfaction marts keep the month's first day,
    the supervision mart its YYYY-MM text."""
    return value.strftime("%Y-%m") if isinstance(value, dt.date) else value[:7]


@dataclass(frozen=True)
class Filters:
    """What the analyst narrowed the view to; None is everything."""

    department: str | None = None
    item_code: str | None = None
    channel: str | None = None
    month: str | None = None

    def __post_init__(self) -> None:
        if self.month is not None and not MONTH.match(self.month):
            raise ValueError(f"month must be YYYY-MM, e.g. 2026-03; got {self.month!r}")


@dataclass(frozen=True)
class Marts:
    """The suppressed marts' rows, each with a `month` (YYYY-MM) in place of its period column."""

    throughput: list[Row] = field(default_factory=list)
    supervision: list[Row] = field(default_factory=list)
    satisfaction: list[Row] = field(default_factory=list)

    @classmethod
    def of(cls, tables: dict[str, list[Row]]) -> Marts:
        """From each mart's rows as loaded (the throughput mart names its month `period`)."""

        def with_month(rows: list[Row], column: str) -> list[Row]:
            return [row | {"month": month_of(row[column])} for row in rows]

        return cls(
            throughput=with_month(tables[THROUGHPUT], "period"),
            supervision=with_month(tables[SUPERVISION], "month"),
            satisfaction=with_month(tables[SATISFACTION], "month"),
        )


class MartsNotBuiltError(LookupError):
    """Gold holds no analyst marts yet: the lakehouse has not been built."""


def mart_versions(settings: Settings) -> tuple[int, ...]:
    """The current version of each mart the figures read, in MARTS order."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    from hub.analyst_marts import mart_location

    versions = []
    for name in MARTS:
        location, options = mart_location(settings, name)
        try:
            versions.append(DeltaTable(location, storage_options=options).version())
        except TableNotFoundError:
            raise MartsNotBuiltError(
                f"gold/{name} is not there yet: build the lakehouse (hub demo, or the build_lakehouse DAG)"
            ) from None
    return tuple(versions)


def load_marts(settings: Settings, versions: Sequence[int] | None = None) -> Marts:
    """The marts the figures read, small cells suppressed (at `versions`, else the latest)."""
    from hub.analyst_marts import load_mart

    at = versions or mart_versions(settings)
    return Marts.of(
        {
            name: load_mart(settings, name, version).to_pylist()
            for name, version in zip(MARTS, at, strict=True)
        }
    )


def shown(rows: Iterable[Row]) -> list[Row]:
    """The rows whose figures may be shown: every suppressed one is left out of every sum."""
    return [row for row in rows if not row.get("suppressed")]


def selected(rows: Iterable[Row], filters: Filters, by: Sequence[str]) -> list[Row]:
    """The shown rows that match the filters among `by` (the columns the mart has)."""
    wanted = {column: getattr(filters, column) for column in by if getattr(filters, column) is not None}
    return [row for row in shown(rows) if all(row[c] == v for c, v in wanted.items())]


def sums(rows: Iterable[Row], keys: Sequence[str], measures: Sequence[str]) -> dict[tuple[Any, ...], Row]:
    """Each group's measures summed, keyed by the group's values, in sorted key order."""
    groups: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        group = groups.setdefault(tuple(row[k] for k in keys), dict.fromkeys(measures, 0))
        for measure in measures:
            group[measure] += row[measure] or 0
    return dict(sorted(groups.items()))


def weighted_mean(rows: Iterable[Row], value: str, weight: str, digits: int = 2) -> float | None:
    """The mean of `value` over the rows weighted by `weight`; None when nothing weighs."""
    pairs = [(row[value], row[weight]) for row in rows if row[value] is not None and row[weight]]
    total = sum(w for _, w in pairs)
    return round(sum(v * w for v, w in pairs) / total, digits) if total else None


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def bilingual(label: str) -> dict[str, str]:
    """The code list's label `English (中文)` split into its two languages."""
    match = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", label)
    return {"en": match.group(1), "zh": match.group(2)} if match else {"en": label, "zh": label}


@cache
def code_labels(code_list: str) -> dict[str, dict[str, str]]:
    return {code: bilingual(label) for code, label in load_code_labels()[code_list].items()}


def labelled(code_list: str, codes: Iterable[str]) -> list[dict[str, str]]:
    """Each code with its English and Chinese label (the code itself where the list lacks it)."""
    labels = code_labels(code_list)
    return [{"code": c} | labels.get(c, {"en": c, "zh": c}) for c in codes]


def _series(months: list[str], by_month: dict[tuple[Any, ...], Row], measure: str) -> list[Any]:
    return [by_month.get((m,), {}).get(measure) for m in months]


THROUGHPUT_COUNTS = (
    "received",
    "accepted",
    "decided",
    "on_time",
    "overdue",
    "materials_reused",
    "visits_saved",
    "supplement_requests",
)
THROUGHPUT_KEYS = ("department", "item_code", "channel", "month")
# The supervision mart has no item or channel, the satisfaction mart no item (and its channels
# are where the evaluation was given, not where the case came in).
SUPERVISION_KEYS = ("department", "month")
SATISFACTION_KEYS = ("department", "month")


def options(marts: Marts) -> Row:
    """What each filter can be set to: the values the shown rows hold."""

    def values(rows: list[Row], column: str) -> list[str]:
        return sorted({row[column] for row in shown(rows)})

    everything = [*marts.throughput, *marts.supervision, *marts.satisfaction]
    return {
        "departments": labelled("department", values(everything, "department")),
        "items": [{"code": c, "en": c, "zh": c} for c in values(marts.throughput, "item_code")],
        "channels": labelled("channel", values(marts.throughput, "channel")),
        "months": values(everything, "month"),
    }


def throughput_by_department(rows: list[Row], months: list[str]) -> list[Row]:
    """Received and decided per month, one series per department."""
    per = sums(rows, ("department", "month"), ("received", "decided"))
    departments = sorted({d for d, _ in per})
    return [
        {
            "department": department,
            **{
                m: [per.get((department, month), {}).get(m) for month in months]
                for m in ("received", "decided")
            },
        }
        for department in departments
    ]


def processing_time(rows: list[Row]) -> list[Row]:
    """Per item, the working days its decided cases took (the monthly cells' medians and 90th
    percentiles, weighted by the cases decided) beside the working days it promised."""
    by_item: dict[str, list[Row]] = {}
    for row in rows:
        if row["decided"]:
            by_item.setdefault(row["item_code"], []).append(row)
    return [
        {
            "item_code": item,
            "decided": sum(r["decided"] for r in cells),
            "median_working_days": weighted_mean(cells, "median_working_days", "decided", 1),
            "p90_working_days": weighted_mean(cells, "p90_working_days", "decided", 1),
            "promised_days": weighted_mean(cells, "median_promised_days", "decided", 1),
        }
        for item, cells in sorted(by_item.items())
    ]


def dashboard(marts: Marts, filters: Filters) -> Row:
    """Every chart's data for the filters (each mart filtered by the columns it has)."""
    flows = selected(marts.throughput, filters, THROUGHPUT_KEYS)
    alerts = selected(marts.supervision, filters, SUPERVISION_KEYS)
    ratings = selected(marts.satisfaction, filters, SATISFACTION_KEYS)
    months = sorted({row["month"] for row in [*flows, *alerts, *ratings]})
    monthly = sums(flows, ("month",), THROUGHPUT_COUNTS)
    overdue = sums(flows, ("department", "month"), ("overdue",))
    heat_departments = sorted({d for d, _ in overdue})
    cards = sums((a for a in alerts if a["rule"] in CARDS), ("month", "rule"), ("raised",))
    rated_months = {m: [r for r in ratings if r["month"] == m] for m in months}
    return {
        "filters": {k: v for k, v in vars(filters).items() if v is not None},
        "months": months,
        "throughput": throughput_by_department(flows, months),
        "on_time": {
            "decided": _series(months, monthly, "decided"),
            "on_time": _series(months, monthly, "on_time"),
            "rate": [
                None if (g := monthly.get((m,))) is None else share(g["on_time"], g["decided"])
                for m in months
            ],
        },
        "overdue": {
            "departments": heat_departments,
            # [month index, department index, overdue cases]: ECharts' heat map cells.
            "cells": [
                [months.index(m), heat_departments.index(d), v["overdue"]] for (d, m), v in overdue.items()
            ],
        },
        "channel_mix": [
            {"channel": c, "received": v["received"]}
            for (c,), v in sums(flows, ("channel",), ("received",)).items()
        ],
        "tier_mix": [
            {"handling_tier": t, "received": v["received"]}
            for (t,), v in sums(flows, ("handling_tier",), ("received",)).items()
        ],
        "processing_time": processing_time(flows),
        "supervision_cards": {
            rule: [cards.get((m, rule), {}).get("raised") for m in months] for rule in CARDS
        },
        "satisfaction": {
            "evaluations": [sum(r["evaluations"] for r in rated_months[m]) or None for m in months],
            "mean_score": [weighted_mean(rated_months[m], "mean_score", "evaluations") for m in months],
            "satisfied_share": [
                weighted_mean(rated_months[m], "satisfied_share", "evaluations", 4) for m in months
            ],
        },
        "reuse": {
            "materials_reused": _series(months, monthly, "materials_reused"),
            "visits_saved": _series(months, monthly, "visits_saved"),
        },
        "labels": {
            "departments": labelled(
                "department", sorted({r["department"] for r in [*flows, *alerts, *ratings]})
            ),
            "channels": labelled("channel", sorted({r["channel"] for r in flows})),
            "handling_tiers": labelled("handling_tier", sorted({r["handling_tier"] for r in flows})),
        },
    }


Table = list[Row]


def _department_rows(
    rows: list[Row], measures: Sequence[str], derive: Callable[[Row], Row] = lambda _: {}
) -> Table:
    return [{"department": d, **v, **derive(v)} for (d,), v in sums(rows, ("department",), measures).items()]


def monthly_report_tables(marts: Marts, month: str) -> dict[str, Table]:
    """The tables behind the month's report, by CSV name: throughput per department, channel and
    handling tier; supervision alerts per department and rule; satisfaction per department."""
    filters = Filters(month=month)
    flows = selected(marts.throughput, filters, ("month",))
    alerts = selected(marts.supervision, filters, ("month",))
    ratings = selected(marts.satisfaction, filters, ("month",))
    counts = ("received", "accepted", "decided", "on_time", "overdue", "materials_reused", "visits_saved")

    def rate(v: Row) -> Row:
        return {"on_time_rate": share(v["on_time"], v["decided"])}

    def per(column: str) -> Table:
        return [{column: c, **v} for (c,), v in sums(flows, (column,), ("received", "decided")).items()]

    by_department = {
        r["department"]: [x for x in ratings if x["department"] == r["department"]] for r in ratings
    }
    return {
        "throughput_by_department": _department_rows(flows, counts, rate),
        "throughput_by_channel": per("channel"),
        "throughput_by_handling_tier": per("handling_tier"),
        "supervision_by_department": [
            {"department": d, "rule": r, **v}
            for (d, r), v in sums(alerts, ("department", "rule"), ("raised", "cleared")).items()
        ],
        "satisfaction_by_department": [
            {
                "department": d,
                "evaluations": sum(r["evaluations"] for r in rows),
                "mean_score": weighted_mean(rows, "mean_score", "evaluations"),
                "satisfied_share": weighted_mean(rows, "satisfied_share", "evaluations", 4),
                "bad_reviews": sum(r["bad_reviews"] for r in rows),
            }
            for d, rows in sorted(by_department.items())
        ],
    }
