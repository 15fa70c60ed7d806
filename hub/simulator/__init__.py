"""A simulator of the district's department approval systems, since the real ones are not reachable.

`simulate` runs the district day by day and hands each department's records over through that
department's own interface, with a seeded share of dirty data. What each department sent, and
which faults were injected, is written to `<sources>/_sent/` so the hub's counts can be checked
against it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from hub.settings import Settings
from hub.simulator.catalogue import CATALOGUE
from hub.simulator.departments import MARKET_REGULATION_COLUMNS, SHAPES, SourceRecord
from hub.simulator.dirty import DirtyRates, file_faults, spoil
from hub.simulator.interfaces import BucketDrop, CsvFileDrop, DayWriter, JsonLinesFileDrop, SqliteChangeTable
from hub.simulator.world import CaseVersion, District
from hub.storage import bucket_store

__all__ = ["DirtyRates", "SentDay", "department_writers", "simulate"]

HEALTH_BUCKET = "dept-health"
# Departments whose exports are files; only these can be truncated, mis-encoded or have a column
# renamed. A late record arrives in a later day's file, or a later day's change rows.
FILE_DEPARTMENTS = frozenset({"market_regulation", "food_drug", "health"})
# How late a database-backed department's change rows can commit after their update time; the
# lookback in those departments' registry files covers it.
CHANGE_ROW_LAG = dt.timedelta(days=1)


def department_writers(settings: Settings) -> dict[str, DayWriter]:
    sources = settings.sources_dir
    return {
        "market_regulation": CsvFileDrop(
            sources / "market_regulation", "gbk", list(MARKET_REGULATION_COLUMNS), ("受理渠道", "办理渠道")
        ),
        "food_drug": JsonLinesFileDrop(sources / "food_drug", ("channel", "channelCode")),
        "housing_construction": SqliteChangeTable(
            sources / "housing_construction" / "system.db", "case_changes", "change_id"
        ),
        "human_resources": SqliteChangeTable(sources / "human_resources" / "rsj.db", "ZW_BJXX", "XH"),
        "health": BucketDrop(bucket_store(settings, HEALTH_BUCKET), "exports/", ("channel", "channel_code")),
    }


@dataclass
class SentDay:
    department: str
    day: str
    records: int = 0
    materials: int = 0  # material entries inside those records
    events: int = 0  # flow-log entries inside those records
    certificates: int = 0  # certificates inside those records
    evaluations: int = 0  # evaluations inside those records
    consignments: int = 0  # courier consignments inside those records
    faults: dict[str, int] = field(default_factory=dict)
    file_faults: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


def _earlier_version(case: CaseVersion, not_before: dt.datetime | None) -> CaseVersion:
    """The case as it stood when accepted, stamped no earlier than `not_before`."""
    return replace(
        case,
        status="accepted",
        decided_at=None,
        supplement_rounds=0,
        updated_at=max(case.received_at, not_before) if not_before else case.received_at,
        events=case.events[:1],
        certificate=None,
        evaluation=None,
        consignments=tuple(c for c in case.consignments if c.direction == "pickup"),
    )


def _carried(version: CaseVersion) -> Counter[str]:
    """The records of other contracts a case record carries."""
    return Counter(
        materials=len(version.materials),
        events=len(version.events),
        certificates=int(version.certificate is not None),
        evaluations=int(version.evaluation is not None),
        consignments=len(version.consignments),
    )


def simulate(
    settings: Settings,
    first_day: dt.date,
    *,
    days: int = 1,
    seed: int = 7,
    cases_per_day: int = 200,
    dirty: DirtyRates | None = None,
    after_day: Callable[[dt.date], None] | None = None,
) -> list[SentDay]:
    """Run the district from `first_day` for `days` days; each department hands over each day.

    `after_day` is called once a day's records are handed over, before the next day begins: a
    test pulls there to see the departments as a daily run would.
    """
    rates = dirty or DirtyRates()
    district = District(seed, cases_per_day, first_day)
    writers = department_writers(settings)
    # Records held back to arrive a day late, each with what it carries (materials, events).
    held_back: dict[str, list[tuple[SourceRecord, Counter[str]]]] = {d: [] for d in writers}
    sent: list[SentDay] = []
    for day, versions in district.days(first_day, days):
        rng = random.Random(f"{seed}/dirty/{day.isoformat()}")
        by_department: dict[str, list[CaseVersion]] = {d: [] for d in writers}
        for version in versions:
            by_department[version.department].append(version)
        for department, writer in writers.items():
            shape = SHAPES[department]
            counts: Counter[str] = Counter()
            records = [record for record, _ in held_back[department]]
            carried = sum((n for _, n in held_back[department]), Counter[str]())
            held_back[department] = []
            for version in by_department[department]:
                record = spoil(rng, shape.record(version), shape, rates, counts)
                if rng.random() < rates.late:
                    held_back[department].append((record, _carried(version)))
                    counts["late"] += 1
                    continue
                records.append(record)
                carried += _carried(version)
                if rng.random() < rates.duplicate:
                    records.append(record)
                    carried += _carried(version)
                    counts["duplicate"] += 1
                if version.received_at < version.updated_at and rng.random() < rates.out_of_order:
                    # The older state of the case arrives after the newer one.
                    # A change row commits at most CHANGE_ROW_LAG late; a file can re-export any state.
                    lag = None if department in FILE_DEPARTMENTS else version.updated_at - CHANGE_ROW_LAG
                    earlier = _earlier_version(version, lag)
                    records.append(shape.record(earlier))
                    carried += _carried(earlier)
                    counts["out_of_order"] += 1
            faults = file_faults(rng, rates) if department in FILE_DEPARTMENTS else set()
            written = writer.write_day(day.isoformat(), records, faults)
            sent.append(
                SentDay(
                    department,
                    day.isoformat(),
                    len(records),
                    carried["materials"],
                    carried["events"],
                    carried["certificates"],
                    carried["evaluations"],
                    carried["consignments"],
                    dict(counts),
                    sorted(faults),
                    written,
                )
            )
        if after_day is not None:
            after_day(day)
    _record_sent(settings, sent)
    # The catalogue as it stood when the simulated period began.
    write_catalogue(settings, dt.datetime.combine(first_day - dt.timedelta(days=1), dt.time(9)))
    return sent


def write_catalogue(settings: Settings, published_at: dt.datetime) -> Path:
    """The government service office's item catalogue: the items and the materials each requires,
    in their contracts' own fields."""
    path = settings.catalogue_file("approval_item")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for item in CATALOGUE:
        lines.append(
            json.dumps(
                {
                    "item_code": item.code,
                    "level1_code": item.level1[0],
                    "level1_name": item.level1[1],
                    "level2_code": item.level2[0],
                    "level2_name": item.level2[1],
                    "item_name": item.name,
                    "department": item.department,
                    "item_type": item.item_type,
                    "statutory_days": item.statutory_days,
                    "promised_days": item.promised_days,
                    "risk_tier": item.risk_tier,
                    "handling_tier": item.handling_tier,
                    "joint_departments": ",".join(item.joint_departments) or None,
                    "fee_standard": item.fee_standard,
                    "fee_free": item.fee_standard == 0,
                    "updated_at": published_at.strftime("%Y-%m-%d %H:%M:%S"),
                },
                ensure_ascii=False,
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    requirements = [
        json.dumps(
            {
                "item_code": item.code,
                "material_type": r.material_type,
                "mandatory": r.mandatory,
                "reusable": r.reusable,
                "validity_rule": r.validity_rule,
                "updated_at": published_at.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        for item in CATALOGUE
        for r in item.requirements
    ]
    settings.catalogue_file("item_requirement").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    return path


def _record_sent(settings: Settings, sent: list[SentDay]) -> None:
    for entry in sent:
        path = settings.sources_dir / "_sent" / entry.department / f"{entry.day}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(entry), ensure_ascii=False, indent=2), encoding="utf-8")
