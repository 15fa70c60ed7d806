"""The department registry: one declarative mapping per department in contracts/mappings/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from quality.contracts import CONTRACTS_DIR

MAPPINGS_DIR = CONTRACTS_DIR / "mappings"


@dataclass(frozen=True)
class DepartmentMapping:
    department: str
    name: str
    format: str  # csv | jsonl
    encoding: str
    file_pattern: str
    timestamp_format: str
    contract: str
    fields: dict[str, str]  # contract field -> source field (dotted path into JSON records)
    codes: dict[str, dict[str, str]]  # contract field -> {source value: contract code}


def load_mappings(directory: Path = MAPPINGS_DIR) -> dict[str, DepartmentMapping]:
    mappings = {}
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        mapping = DepartmentMapping(**doc)
        mappings[mapping.department] = mapping
    return mappings


def department_names() -> list[str]:
    """Cheap enough for DAG files: reads a few small YAML files, imports no Spark."""
    return sorted(load_mappings())
