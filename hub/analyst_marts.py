"""The analyst marts, and the one way analyst outputs read them: with small cells suppressed.

Every output that shows the marts to analysts (the dashboard, the monthly report, the marts shared
over Delta Sharing) reads them through `load_mart`, never straight from gold, so the rule holds
everywhere it is applied once.

The rule. Each mart row (a cell) carries `subjects`, how many distinct applicants its measures
cover (for the throughput marts the smaller of the received and decided sides, see
`jobs/throughput.py`). A cell with fewer than `HUB_SMALL_CELL_K` subjects keeps its grain columns,
gets every measure and `subjects` nulled, and is flagged `suppressed`. A cell whose `subjects` is
unknown (null) is suppressed too.

Re-aggregating. A coarser figure (a month from days, a department from its items, a grand total)
must be summed from the unsuppressed cells only, never read from another table or computed over
the unsuppressed data: otherwise the total minus the visible cells gives a small cell back. Say how
many cells were left out beside it: `visible_total` returns both.

What it does not cover: suppression is per row of each mart. Two marts at different grains
(`throughput_daily` and `throughput_monthly`) or one cell and its neighbours in time (`backlog` is a
running sum) can still be differenced to narrow a suppressed cell down; an output that shows
several grains side by side should re-aggregate from the finest one as above.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from hub.settings import Settings
from hub.storage import delta_rs_location

SUBJECTS = "subjects"
SUPPRESSED = "suppressed"
LAYER = "gold"

_THROUGHPUT_GRAIN = ("period", "department", "item_code", "channel", "handling_tier")
_THROUGHPUT_MEASURES = (
    "received",
    "accepted",
    "materials_reused",
    "visits_saved",
    "decided",
    "on_time",
    "overdue",
    "median_working_days",
    "p90_working_days",
    "median_promised_days",
    "supplement_requests",
    "backlog",
)


@dataclass(frozen=True)
class AnalystMart:
    """A gold mart analysts may see: its grain (what a row is about, kept when suppressed) and its
    measures (nulled when suppressed). Every other column but `subjects` is refused."""

    name: str
    grain: tuple[str, ...]
    measures: tuple[str, ...]
    # The contract field ("contract.field") a grain column holds when it is named otherwise; a
    # grain column named as a contract field holds that field. What may be shared outside the hub
    # is judged on these fields' sharing classes (hub/sharing.py).
    grain_sources: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The gold table's columns, in order."""
        return (*self.grain, *self.measures, SUBJECTS)


ANALYST_MARTS: dict[str, AnalystMart] = {
    mart.name: mart
    for mart in (
        AnalystMart("throughput_daily", _THROUGHPUT_GRAIN, _THROUGHPUT_MEASURES),
        AnalystMart("throughput_monthly", _THROUGHPUT_GRAIN, _THROUGHPUT_MEASURES),
        AnalystMart("supervision_monthly", ("month", "department", "rule"), ("raised", "cleared")),
        AnalystMart(
            "evaluation_summary",
            ("month", "department", "channel"),
            (
                "evaluations",
                "mean_score",
                "satisfied_share",
                "bad_reviews",
                "rectified_in_time",
                "rectified_late_or_overdue",
            ),
        ),
        AnalystMart(
            "consistency",
            ("item_code", "handling_tier", "window_id", "officer_id"),
            (
                "decisions",
                "permit_share",
                "median_working_days",
                "max_working_days",
                "item_permit_share",
                "item_median_working_days",
                "outlier_permit_share",
                "outlier_slow",
            ),
            # The officer who decided: a civil servant's identity, conditional in the contract.
            grain_sources=(("officer_id", "case_event.actor_id"),),
        ),
    )
}


class NotAnAnalystMartError(LookupError):
    """A name that is not an analyst mart (subject tables and case facts never are)."""


def analyst_mart(name: str) -> AnalystMart:
    try:
        return ANALYST_MARTS[name]
    except KeyError:
        known = ", ".join(ANALYST_MARTS)
        raise NotAnAnalystMartError(f"{name!r} is not an analyst mart (those are: {known})") from None


def suppress(table: pa.Table, mart: AnalystMart, k: int) -> pa.Table:
    """`table` (a mart's rows) with every cell of fewer than `k` subjects suppressed, and a boolean
    `suppressed` column last. Refuses a table whose columns are not the mart's: a column nobody
    declared a grain or a measure would otherwise pass through unsuppressed."""
    if k < 2:
        raise ValueError(f"small-cell threshold k must be 2 or more, not {k}")
    undeclared = [c for c in table.column_names if c not in mart.columns]
    missing = [c for c in mart.columns if c not in table.column_names]
    if undeclared or missing:
        raise ValueError(
            f"gold/{mart.name} does not have the analyst mart's columns: "
            f"undeclared {undeclared}, missing {missing}"
        )
    small = pc.fill_null(pc.less(table[SUBJECTS], k), True)
    columns = []
    for name in mart.columns:
        column = table[name]
        if name != SUBJECTS and name not in mart.measures:
            columns.append(column)
            continue
        columns.append(pc.if_else(small, pa.scalar(None, column.type), column))
    return pa.Table.from_arrays([*columns, small], names=[*mart.columns, SUPPRESSED])


def suppressed_cells(table: pa.Table) -> int:
    """How many cells of a suppressed table are suppressed."""
    return int(pc.sum(table[SUPPRESSED]).as_py() or 0)


@dataclass(frozen=True)
class VisibleTotal:
    """A coarser total summed from unsuppressed cells only, and how many cells it leaves out."""

    total: int | float
    suppressed_cells: int


def visible_total(table: pa.Table, measure: str, where: pc.Expression | None = None) -> VisibleTotal:
    """Sum `measure` over the unsuppressed cells of a suppressed table (those matching `where`, when
    given, e.g. `pc.field("department") == "d1"`), with the number of cells left out."""
    cells = table if where is None else table.filter(where)
    visible = cells.filter(pc.invert(cells[SUPPRESSED]))
    total = pc.sum(visible[measure]).as_py()
    return VisibleTotal(total or 0, suppressed_cells(cells))


def mart_location(settings: Settings, name: str) -> tuple[str, dict[str, str]]:
    """Where delta-rs reads the mart (local path or s3://) and its storage options."""
    return delta_rs_location(settings, LAYER, analyst_mart(name).name)


def load_mart(settings: Settings, name: str, version: int | None = None) -> pa.Table:
    """The mart `name` from gold (at `version`, else the latest), small cells suppressed with
    `settings.small_cell_k`. Raises NotAnAnalystMartError for a table that is not an analyst mart, and
    deltalake's TableNotFoundError while gold has not been built."""
    from deltalake import DeltaTable

    mart = analyst_mart(name)
    location, options = mart_location(settings, name)
    rows = DeltaTable(location, version=version, storage_options=options).to_pyarrow_table()
    return suppress(rows, mart, settings.small_cell_k)
