"""The department registry: one declarative file per department in contracts/mappings/.

Each file says how the hub reaches the department (its interface), how to read what it sends
(format, encoding, time formats) and how its fields and codes map to a contract. Adding a
department is adding a file; the ingestion DAGs are generated from this registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from quality.contracts import CONTRACTS_DIR

MAPPINGS_DIR = CONTRACTS_DIR / "mappings"
InterfaceKind = Literal["file_drop", "object_store", "rest_api", "jdbc"]


@dataclass(frozen=True)
class Interface:
    kind: InterfaceKind
    url: str | None = None  # rest_api and jdbc
    page_size: int = 500  # rest_api
    bucket: str | None = None  # object_store
    prefix: str = ""  # object_store
    driver: str | None = None  # jdbc: the driver class, whose jar is on Spark's classpath
    table: str | None = None  # jdbc
    updated_column: str | None = None  # jdbc: the column a pull windows on
    updated_format: str | None = None  # jdbc: strftime format of that column
    # rest_api and jdbc: how many hours of landed windows each pull reads again, for changes
    # committed late with an earlier update time; `row_id` names the column that identifies a
    # change row, so bronze keeps each row once.
    lookback_hours: int = 0
    row_id: str | None = None

    def __post_init__(self) -> None:
        if self.lookback_hours and not self.row_id:
            raise ValueError("an interface that looks back needs a row_id to recognise rows it landed")


@dataclass(frozen=True)
class NestedDataset:
    """Records of another contract carried inside each case record, such as its materials.

    `path` names the list in the case record: a JSON list (or a single object), or a column holding
    one as JSON text (CSV and database exports). Each element becomes one record; its `fields` map
    contract fields to "element.<path>" inside the element or "parent.<path>" in the case record.
    """

    path: str
    fields: dict[str, str]
    codes: dict[str, dict[str, str]]


@dataclass(frozen=True)
class DepartmentMapping:
    department: str
    name: str
    interface: Interface
    format: Literal["csv", "jsonl", "json"]
    encoding: str
    file_pattern: str
    timestamp_format: str  # a Spark datetime pattern, or epoch_millis
    contract: str
    fields: dict[str, str]  # contract field -> source field (dotted path into JSON records)
    codes: dict[str, dict[str, str]]  # contract field -> {source value: contract code}
    date_format: str = "yyyy-MM-dd"
    records_path: str = ""  # json: the key holding the records ("" when the document is the array)
    # Fields the department sends that no contract takes yet; known, so not reported as drift.
    unmapped_fields: tuple[str, ...] = ()
    nested: dict[str, NestedDataset] = field(default_factory=dict)  # contract name -> its records

    def sends(self, contract: str) -> bool:
        """Whether the department's records are, or carry, records of `contract`."""
        return contract == self.contract or contract in self.nested

    def for_contract(self, contract: str) -> DepartmentMapping:
        """This department's mapping as `conform` reads it for its records of `contract`: itself,
        or the mapping of the records nested under that contract."""
        if contract == self.contract:
            return self
        nested = self.nested[contract]
        return replace(self, contract=contract, fields=nested.fields, codes=nested.codes, nested={})


def _mapping(doc: dict[str, Any], path: Path) -> DepartmentMapping:
    try:
        interface = Interface(**doc.pop("interface"))
        unmapped = tuple(doc.pop("unmapped_fields", ()))
        nested = {name: NestedDataset(**spec) for name, spec in doc.pop("nested", {}).items()}
        return DepartmentMapping(interface=interface, unmapped_fields=unmapped, nested=nested, **doc)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"department registry file {path.name}: {error}") from error


def load_mappings(directory: Path = MAPPINGS_DIR) -> dict[str, DepartmentMapping]:
    mappings = {}
    for path in sorted(directory.glob("*.yaml")):
        mapping = _mapping(yaml.safe_load(path.read_text(encoding="utf-8")), path)
        if mapping.department != path.stem:
            raise ValueError(
                f"{path.name} registers department {mapping.department!r}; the file name must match"
            )
        mappings[mapping.department] = mapping
    return mappings


def department_names() -> list[str]:
    """Cheap enough for DAG files: reads a few small YAML files, imports no Spark."""
    return sorted(load_mappings())


def bronze_asset_uri(department: str) -> str:
    """The Airflow asset a department's ingestion updates; the lakehouse build is scheduled on them."""
    return f"hub://lake/bronze/case_record/{department}"
