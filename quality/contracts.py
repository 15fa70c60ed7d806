"""Load the ODCS contracts in contracts/ into small typed objects the compilers work from."""

from __future__ import annotations

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
    references: str | None  # "<contract>.<field>" this field's value must exist in


@dataclass(frozen=True)
class Contract:
    name: str
    version: str
    fields: tuple[Field, ...]

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
        references=next((r["to"] for r in prop.get("relationships", [])), None),
    )


@cache
def load_contract(name: str, directory: Path = CONTRACTS_DIR) -> Contract:
    document = yaml.safe_load((directory / f"{name}.odcs.yaml").read_text(encoding="utf-8"))
    (table,) = document["schema"]
    return Contract(
        name=document["name"],
        version=document["version"],
        fields=tuple(_field(p) for p in table["properties"]),
    )


@cache
def load_code_lists(directory: Path = CONTRACTS_DIR) -> dict[str, frozenset[str]]:
    document = yaml.safe_load((directory / "code_lists.yaml").read_text(encoding="utf-8"))
    return {name: frozenset(entry["codes"]) for name, entry in document.items()}
