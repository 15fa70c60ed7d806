"""Load the ODCS contracts in contracts/ into small typed objects the compilers work from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hub.settings import REPO_ROOT

CONTRACTS_DIR = REPO_ROOT / "contracts"
RULE_ENGINE = "approval-hub"


@dataclass(frozen=True)
class RuleSpec:
    """A row rule declared in a contract's quality entry (type custom, engine approval-hub)."""

    name: str
    implementation: str  # e.g. "subject_id", "not_before:received_at"
    description: str

    @property
    def kind(self) -> str:
        return self.implementation.split(":", 1)[0]

    @property
    def argument(self) -> str | None:
        parts = self.implementation.split(":", 1)
        return parts[1] if len(parts) == 2 else None


@dataclass(frozen=True)
class Field:
    name: str
    physical_type: str
    required: bool
    unique: bool
    primary_key: bool
    description: str
    sharing_class: str
    personal_data: bool
    code_list: str | None
    rules: tuple[RuleSpec, ...]
    # "hmac-sha256" when silver keeps only the keyed hash of the value the department sends.
    keyed_hash: str | None = None


@dataclass(frozen=True)
class Reference:
    """A foreign key: the values of `columns` must exist together in `target_columns` of `target`."""

    columns: tuple[str, ...]
    target: str  # the referenced contract
    target_columns: tuple[str, ...]

    @property
    def rule_field(self) -> str:
        """The field a broken reference is reported on: the last column (the one not shared, such
        as case_id in (department, case_id))."""
        return self.columns[-1]


@dataclass(frozen=True)
class Contract:
    name: str
    version: str
    fields: tuple[Field, ...]
    references: tuple[Reference, ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"contract {self.name} has no field {name}")

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _custom(prop: dict[str, Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for entry in prop.get("customProperties", []):
        found.setdefault(entry["property"], []).append(entry["value"])
    return found


def _field(prop: dict[str, Any]) -> Field:
    custom = _custom(prop)
    return Field(
        name=prop["name"],
        physical_type=prop["physicalType"],
        required=bool(prop.get("required", False)),
        unique=bool(prop.get("unique", False)),
        primary_key=bool(prop.get("primaryKey", False)),
        description=prop.get("description", ""),
        sharing_class=custom["sharingClass"][0],
        personal_data=bool(custom.get("personalData", [False])[0]),
        code_list=custom.get("codeList", [None])[0],
        rules=tuple(
            RuleSpec(q["name"], q["implementation"], q.get("description", ""))
            for q in prop.get("quality", [])
            if q.get("type") == "custom" and q.get("engine") == RULE_ENGINE
        ),
        keyed_hash=custom.get("keyedHash", [None])[0],
    )


def _qualified(contract: str, names: str | list[str]) -> tuple[str, tuple[str, ...]]:
    """("case", ("department", "case_id")) from "case.case_id" or ["case.department", "case.case_id"]."""
    pairs = [n.split(".", 1) for n in ([names] if isinstance(names, str) else names)]
    tables = {t for t, _ in pairs}
    if len(tables) != 1:
        raise ValueError(f"contract {contract}: a relationship spans several tables: {names}")
    return tables.pop(), tuple(c for _, c in pairs)


def table_references(name: str, table: Mapping[str, Any]) -> tuple[Reference, ...]:
    """Property-level relationships (one column) and schema-level ones (composite keys)."""
    found = []
    for prop in table["properties"]:
        for rel in prop.get("relationships", []):
            target, target_columns = _qualified(name, rel["to"])
            found.append(Reference((prop["name"],), target, target_columns))
    for rel in table.get("relationships", []):
        _, columns = _qualified(name, rel["from"])
        target, target_columns = _qualified(name, rel["to"])
        found.append(Reference(columns, target, target_columns))
    return tuple(found)


@cache
def load_contract(name: str, directory: Path = CONTRACTS_DIR) -> Contract:
    document = yaml.safe_load((directory / f"{name}.odcs.yaml").read_text(encoding="utf-8"))
    (table,) = document["schema"]
    return Contract(
        name=document["name"],
        version=document["version"],
        fields=tuple(_field(p) for p in table["properties"]),
        references=table_references(document["name"], table),
    )


@cache
def load_code_lists(directory: Path = CONTRACTS_DIR) -> dict[str, frozenset[str]]:
    return {name: frozenset(labels) for name, labels in load_code_labels(directory).items()}


@cache
def load_code_labels(directory: Path = CONTRACTS_DIR) -> dict[str, dict[str, str]]:
    """Each code list's codes with their labels, in the file's order."""
    document = yaml.safe_load((directory / "code_lists.yaml").read_text(encoding="utf-8"))
    return {name: dict(entry["codes"]) for name, entry in document.items()}


# The subject contract's fields that are the profile's own columns rather than attributes reported
# side by side per department: its key and type, the reporting department and update time, and
# the name, which the profile shows per department from the cases.
NOT_IDENTITY_ATTRIBUTES = frozenset({"subject_id", "subject_type", "name", "department", "updated_at"})


def identity_attributes() -> tuple[Field, ...]:
    """The subject contract's fields that gold keeps per department in a profile's `identity`."""
    return tuple(f for f in load_contract("subject").fields if f.name not in NOT_IDENTITY_ATTRIBUTES)
