"""Every contract in contracts/ is valid ODCS and follows the conventions the compilers rely on.

The conventions are written down in the header of contracts/case.odcs.yaml; quality/contracts.py
loads them and quality/row_rules.py compiles them, so a contract that strays from them would
either fail to load or be checked less than it says.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from quality.contracts import CONTRACTS_DIR, RULE_ENGINE, load_code_lists, load_contract

pytestmark = pytest.mark.unit

DATASETS = {
    "subject",
    "approval_item",
    "item_requirement",
    "case",
    "case_event",
    "material",
    "certificate",
    "evaluation",
    "courier_delivery",
}
SHARING_CLASSES = {"unconditional", "conditional", "not_shared"}
CLASSIFICATIONS = {"public", "internal", "restricted", "confidential"}
PHYSICAL_TYPES = {"string", "timestamp", "date", "integer", "long", "double", "decimal(12,2)", "boolean"}
# The implementation kinds quality.row_rules._passes accepts. Kept here rather than imported, since
# importing row_rules pulls in PySpark; test_rule_kinds_are_implemented keeps the two in step.
RULE_KINDS = {
    "subject_id",
    "resident_id",
    "credit_code",
    "mobile_phone",
    "not_in_future",
    "not_before",
    "working_day_deadline",
}
RULE_KINDS_WITH_A_FIELD_ARGUMENT = {"not_before", "working_day_deadline"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")

CONTRACT_PATHS = sorted(CONTRACTS_DIR.glob("*.odcs.yaml"))


def contract_name(path: Path) -> str:
    return path.name.removesuffix(".odcs.yaml")


def read_document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def table_properties(document: dict[str, Any]) -> list[dict[str, Any]]:
    (table,) = document["schema"]
    properties: list[dict[str, Any]] = table["properties"]
    return properties


def custom_properties(entity: dict[str, Any]) -> dict[str, Any]:
    return {entry["property"]: entry["value"] for entry in entity.get("customProperties", [])}


each_contract = pytest.mark.parametrize("path", CONTRACT_PATHS, ids=contract_name)


@pytest.fixture(scope="module")
def odcs_validator() -> Any:
    schema_file = importlib.resources.files("open_data_contract_standard") / "schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def test_every_dataset_has_a_contract() -> None:
    found = {contract_name(path) for path in CONTRACT_PATHS}
    assert found >= DATASETS, f"missing contracts: {sorted(DATASETS - found)}"


def test_rule_kinds_are_implemented() -> None:
    """Every kind this test accepts is still compiled by row_rules (read as text, no Spark): a case
    of `_passes`, or a cross-dataset rule that compile_row_rules builds itself."""
    source = (CONTRACTS_DIR.parent / "quality" / "row_rules.py").read_text(encoding="utf-8")
    body = source.split("def _passes(", 1)[1].split("\ndef ", 1)[0]
    implemented = set(re.findall(r'case "([a-z_]+)":', body))
    implemented |= set(re.findall(r'spec\.kind == "([a-z_]+)"', source))
    assert implemented >= RULE_KINDS, f"not compiled by row_rules: {sorted(RULE_KINDS - implemented)}"


def test_code_lists_are_labelled() -> None:
    document = yaml.safe_load((CONTRACTS_DIR / "code_lists.yaml").read_text(encoding="utf-8"))
    for name, entry in document.items():
        assert CHINESE.search(entry["description"]), name
        assert entry["codes"], name
        for code, label in entry["codes"].items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", code), f"{name}.{code}"
            assert CHINESE.search(label), f"{name}.{code} has no Chinese term: {label!r}"


@each_contract
def test_document_is_valid_odcs(path: Path, odcs_validator: Any) -> None:
    errors = sorted(odcs_validator.iter_errors(read_document(path)), key=lambda e: list(map(str, e.path)))
    messages = [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}" for error in errors]
    for message in messages:
        print(message)
    assert not messages, "\n".join(messages)


@each_contract
def test_document_loads(path: Path) -> None:
    contract = load_contract(contract_name(path))
    assert contract.name == contract_name(path)
    assert re.fullmatch(r"\d+\.\d+\.\d+", contract.version), contract.version
    assert contract.fields
    assert len(set(contract.field_names)) == len(contract.field_names), "duplicate property names"


@each_contract
def test_header(path: Path) -> None:
    name = contract_name(path)
    document = read_document(path)
    assert document["apiVersion"] == "v3.1.0"
    assert document["kind"] == "DataContract"
    assert document["id"] == f"urn:approval-hub:contract:{name}"
    assert document["name"] == name
    assert document["status"] == "active"
    assert document["domain"] == "approval"
    assert document["dataProduct"] == "approval-hub"
    assert document["description"]["purpose"]
    assert document["description"]["usage"]
    assert any(m["role"] == "owner" for m in document["team"]["members"])
    assert custom_properties(document)["ownerDepartment"] in load_code_lists()["department"]

    (table,) = document["schema"]
    assert table["name"] == table["physicalName"] == name
    assert (table["logicalType"], table["physicalType"]) == ("object", "table")

    (freshness,) = [sla for sla in document["slaProperties"] if sla["property"] == "freshness"]
    assert freshness["unit"] == "d"
    assert freshness["value"] > 0
    element_table, element_field = freshness["element"].split(".")
    assert element_table == name
    assert load_contract(name).field(element_field).physical_type == "timestamp"


@each_contract
def test_properties_follow_conventions(path: Path) -> None:
    code_lists = load_code_lists()
    problems: list[str] = []
    for prop in table_properties(read_document(path)):
        name = prop["name"]
        custom = custom_properties(prop)
        for key in ("logicalType", "physicalType", "required", "description", "classification"):
            if key not in prop:
                problems.append(f"{name}: no {key}")
        if not CHINESE.search(prop.get("description", "")):
            problems.append(f"{name}: description has no Chinese term")
        if prop.get("physicalType") not in PHYSICAL_TYPES:
            problems.append(f"{name}: physicalType {prop.get('physicalType')!r}")
        if prop.get("classification") not in CLASSIFICATIONS:
            problems.append(f"{name}: classification {prop.get('classification')!r}")
        if custom.get("sharingClass") not in SHARING_CLASSES:
            problems.append(f"{name}: sharingClass {custom.get('sharingClass')!r}")
        if not isinstance(custom.get("personalData"), bool):
            problems.append(f"{name}: personalData {custom.get('personalData')!r} is not a flag")
        if "codeList" in custom and custom["codeList"] not in code_lists:
            problems.append(f"{name}: code list {custom['codeList']!r} is not in code_lists.yaml")
        if prop.get("primaryKey") and not isinstance(prop.get("primaryKeyPosition"), int):
            problems.append(f"{name}: key without primaryKeyPosition")
    assert not problems, "\n".join(problems)


@each_contract
def test_primary_key_positions(path: Path) -> None:
    properties = table_properties(read_document(path))
    positions = sorted(p["primaryKeyPosition"] for p in properties if p.get("primaryKey"))
    assert positions == list(range(1, len(positions) + 1)), "key positions must run 1..n"


@each_contract
def test_relationships_name_existing_properties(path: Path) -> None:
    (table,) = read_document(path)["schema"]
    relationships = [r for p in table["properties"] for r in p.get("relationships", [])]
    relationships += table.get("relationships", [])
    for relationship in relationships:
        assert relationship.get("type", "foreignKey") == "foreignKey"
        targets = relationship["to"] if isinstance(relationship["to"], list) else [relationship["to"]]
        sources = relationship.get("from", [])
        for target in targets:
            target_contract, target_property = target.split(".")
            assert (CONTRACTS_DIR / f"{target_contract}.odcs.yaml").is_file(), target
            assert target_property in load_contract(target_contract).field_names, target
        for source in sources if isinstance(sources, list) else [sources]:
            source_contract, source_property = source.split(".")
            assert source_contract == contract_name(path), source
            assert source_property in load_contract(source_contract).field_names, source


@each_contract
def test_rules_are_known_and_compiled(path: Path) -> None:
    contract = load_contract(contract_name(path))
    for prop in table_properties(read_document(path)):
        for entry in prop.get("quality", []):
            # An entry of another type or engine would be skipped silently by the loader.
            assert (entry.get("type"), entry.get("engine")) == ("custom", RULE_ENGINE), prop["name"]
    for field in contract.fields:
        for rule in field.rules:
            rule_id = f"{contract.name}.{field.name}.{rule.name}"
            assert rule.kind in RULE_KINDS, f"{rule_id}: unknown implementation {rule.implementation!r}"
            assert rule.description, f"{rule_id}: no description (it becomes the quarantine reason)"
            if rule.kind in RULE_KINDS_WITH_A_FIELD_ARGUMENT:
                assert rule.argument in contract.field_names, f"{rule_id}: no field {rule.argument!r}"
            else:
                assert rule.argument is None, f"{rule_id}: {rule.kind} takes no argument"
