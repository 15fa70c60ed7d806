"""Dirty data, injected at configurable rates into what department systems send.

Row faults change or repeat single records; file faults spoil a whole export. Every injected
fault is counted, so a test can check that the hub caught each one.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from dataclasses import dataclass, fields

from hub.simulator.departments import SourceRecord, SourceShape

ROW_FAULTS = ("bad_check_char", "missing_required", "unknown_code", "duplicate", "out_of_order", "late")
FILE_FAULTS = ("truncated_file", "wrong_encoding", "renamed_column")


@dataclass(frozen=True)
class DirtyRates:
    """Share of records (row faults) or of exports (file faults) that get each fault."""

    bad_check_char: float = 0.01
    missing_required: float = 0.005
    unknown_code: float = 0.005
    duplicate: float = 0.01
    out_of_order: float = 0.01
    late: float = 0.01
    truncated_file: float = 0.0
    wrong_encoding: float = 0.0
    renamed_column: float = 0.0

    @classmethod
    def clean(cls) -> DirtyRates:
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def rate(self, fault: str) -> float:
        value: float = getattr(self, fault)
        return value


def _set(record: SourceRecord, path: tuple[str, ...], value: object) -> None:
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _get(record: SourceRecord, path: tuple[str, ...]) -> object:
    value: object = record
    for key in path:
        value = value[key]  # type: ignore[index]
    return value


def mistyped_check_char(rng: random.Random, subject_id: str) -> str:
    """The most common real-world id error: a wrong last character."""
    last = subject_id[-1]
    return subject_id[:-1] + rng.choice([c for c in "0123456789" if c != last])


def spoil(
    rng: random.Random, record: SourceRecord, shape: SourceShape, rates: DirtyRates, counts: Counter[str]
) -> SourceRecord:
    """The record with at most one value fault (a wrong id, a missing name or an unknown code)."""
    roll = rng.random()
    for fault in ("bad_check_char", "missing_required", "unknown_code"):
        rate = rates.rate(fault)
        if roll < rate:
            record = copy.deepcopy(record)
            if fault == "bad_check_char":
                _set(record, shape.id_path, mistyped_check_char(rng, str(_get(record, shape.id_path))))
            elif fault == "missing_required":
                _set(record, shape.name_path, None)
            else:
                _set(record, shape.channel_path, shape.unknown_channel)
            counts[fault] += 1
            return record
        roll -= rate
    return record


def file_faults(rng: random.Random, rates: DirtyRates) -> set[str]:
    return {fault for fault in FILE_FAULTS if rng.random() < rates.rate(fault)}
