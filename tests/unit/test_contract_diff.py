from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hub.cli import app
from hub.contracts_cli import BASELINE_DIR, diff_files
from quality.contract_diff import Change, CodeLists, diff_contracts, required_bump
from quality.contracts import CONTRACTS_DIR

pytestmark = pytest.mark.unit


def prop(
    name: str,
    *,
    type_: str = "string",
    required: bool = False,
    sharing: str = "unconditional",
    personal: bool = False,
    code_list: str | None = None,
    rules: dict[str, str] | None = None,
    key_position: int | None = None,
) -> dict[str, Any]:
    custom: list[dict[str, Any]] = [
        {"property": "sharingClass", "value": sharing},
        {"property": "personalData", "value": personal},
    ]
    if code_list:
        custom.append({"property": "codeList", "value": code_list})
    built: dict[str, Any] = {
        "name": name,
        "logicalType": type_,
        "physicalType": type_,
        "required": required,
        "customProperties": custom,
        "quality": [
            {"name": rule, "type": "custom", "engine": "approval-hub", "implementation": implementation}
            for rule, implementation in (rules or {}).items()
        ],
    }
    if key_position is not None:
        built |= {"primaryKey": True, "primaryKeyPosition": key_position}
    return built


def contract(*props: dict[str, Any], version: str = "1.0.0") -> dict[str, Any]:
    return {"name": "case", "version": version, "schema": [{"name": "case", "properties": list(props)}]}


ID = prop("case_id", required=True, key_position=1)


def only_change(
    old: dict[str, Any],
    new: dict[str, Any],
    old_lists: CodeLists | None = None,
    new_lists: CodeLists | None = None,
) -> tuple[str, str, bool]:
    changes = diff_contracts(old, new, old_lists or {}, new_lists or {})
    assert len(changes) == 1, changes
    (change,) = changes
    return change.field, change.kind, change.compatible


def test_same_contract_has_no_changes():
    case = yaml.safe_load((CONTRACTS_DIR / "case.odcs.yaml").read_text(encoding="utf-8"))
    lists = {"channel": {"window"}}
    assert diff_contracts(case, case, lists, lists) == []


@pytest.mark.parametrize(("required", "compatible"), [(False, True), (True, False)])
def test_field_added(required, compatible):
    new = contract(ID, prop("note", required=required))
    assert only_change(contract(ID), new) == ("note", "field_added", compatible)


def test_field_removed():
    old = contract(ID, prop("decided_at"))
    assert only_change(old, contract(ID)) == ("decided_at", "field_removed", False)


@pytest.mark.parametrize(
    ("old_type", "new_type"),
    [
        ("long", "integer"),
        ("double", "integer"),
        ("timestamp", "date"),
        ("string", "integer"),
        ("decimal(12,2)", "decimal(12,3)"),
    ],
)
def test_type_narrowed_breaks(old_type, new_type):
    old, new = contract(ID, prop("n", type_=old_type)), contract(ID, prop("n", type_=new_type))
    assert only_change(old, new) == ("n", "type_narrowed", False)


@pytest.mark.parametrize(
    ("old_type", "new_type"),
    [("integer", "long"), ("integer", "double"), ("timestamp", "string"), ("decimal(12,2)", "decimal(14,3)")],
)
def test_type_widened_is_compatible(old_type, new_type):
    old, new = contract(ID, prop("n", type_=old_type)), contract(ID, prop("n", type_=new_type))
    assert only_change(old, new) == ("n", "type_widened", True)


def test_type_alias_is_no_change():
    old, new = contract(ID, prop("n", type_="int")), contract(ID, prop("n", type_="integer"))
    assert diff_contracts(old, new, {}, {}) == []


def test_made_required_breaks():
    old, new = contract(ID, prop("channel")), contract(ID, prop("channel", required=True))
    assert only_change(old, new) == ("channel", "made_required", False)


def test_made_optional_is_compatible_but_says_consumers_get_nulls():
    old, new = contract(ID, prop("channel", required=True)), contract(ID, prop("channel"))
    assert only_change(old, new) == ("channel", "made_optional", True)
    (change,) = diff_contracts(old, new, {}, {})
    assert "consumers must now accept nulls" in change.reason


def test_code_removed_breaks_and_code_added_is_compatible():
    case = contract(ID, prop("channel", code_list="channel"))
    old_lists = {"channel": {"window", "online", "fax"}}
    new_lists = {"channel": {"window", "online", "kiosk"}}
    changes = diff_contracts(case, case, old_lists, new_lists)
    assert [(c.field, c.kind, c.compatible) for c in changes] == [
        ("channel", "code_removed", False),
        ("channel", "code_added", True),
    ]
    assert "fax" in changes[0].reason
    assert "kiosk" in changes[1].reason


def test_code_list_changed_breaks():
    old = contract(ID, prop("status", code_list="case_status"))
    new = contract(ID, prop("status", code_list="permit_status"))
    lists = {"case_status": {"accepted"}, "permit_status": {"accepted"}}
    assert only_change(old, new, lists, lists) == ("status", "code_list_changed", False)


@pytest.mark.parametrize(
    ("old_class", "new_class"), [("unconditional", "conditional"), ("conditional", "not_shared")]
)
def test_sharing_tightened_breaks(old_class, new_class):
    old, new = contract(ID, prop("name", sharing=old_class)), contract(ID, prop("name", sharing=new_class))
    assert only_change(old, new) == ("name", "sharing_tightened", False)


def test_sharing_loosened_breaks_and_asks_the_data_owner():
    old, new = (
        contract(ID, prop("name", sharing="not_shared")),
        contract(ID, prop("name", sharing="conditional")),
    )
    assert only_change(old, new) == ("name", "sharing_loosened", False)
    (change,) = diff_contracts(old, new, {}, {})
    assert "data-owner decision" in change.reason


def test_personal_data_added_breaks():
    old, new = contract(ID, prop("phone")), contract(ID, prop("phone", personal=True))
    assert only_change(old, new) == ("phone", "personal_data_added", False)


def test_primary_key_changed_breaks():
    old = contract(ID, prop("department", required=True))
    new = contract(ID, prop("department", required=True, key_position=0))
    assert only_change(old, new) == ("", "primary_key_changed", False)


def test_row_rule_added_breaks():
    old = contract(ID, prop("decided_at", type_="timestamp"))
    new = contract(ID, prop("decided_at", type_="timestamp", rules={"not_in_future": "not_in_future"}))
    assert only_change(old, new) == ("decided_at", "rule_added", False)


def test_row_rule_removed_is_compatible():
    old = contract(ID, prop("decided_at", type_="timestamp", rules={"not_in_future": "not_in_future"}))
    new = contract(ID, prop("decided_at", type_="timestamp"))
    assert only_change(old, new) == ("decided_at", "rule_removed", True)


def test_row_rule_implementation_changed_breaks():
    old = contract(ID, prop("decided_at", rules={"ordered": "not_before:received_at"}))
    new = contract(ID, prop("decided_at", rules={"ordered": "not_before:accepted_at"}))
    assert only_change(old, new) == ("decided_at", "rule_changed", False)


def test_reference_added_breaks_and_removed_is_compatible():
    plain = contract(ID, prop("subject_id"))
    referencing = contract(
        ID, prop("subject_id") | {"relationships": [{"type": "foreignKey", "to": "subject.id"}]}
    )
    assert only_change(plain, referencing) == ("subject_id", "reference_changed", False)
    assert only_change(referencing, plain) == ("subject_id", "reference_removed", True)


def test_code_list_dropped_is_compatible():
    old, new = contract(ID, prop("channel", code_list="channel")), contract(ID, prop("channel"))
    assert only_change(old, new) == ("channel", "code_list_dropped", True)


BREAKING = [Change("decided_at", "field_removed", False, "field decided_at removed")]
COMPATIBLE = [Change("note", "field_added", True, "optional field note added")]


@pytest.mark.parametrize(
    ("old_version", "new_version", "changes", "needs_bump"),
    [
        ("1.0.0", "1.1.0", BREAKING, True),
        ("1.4.2", "1.4.3", BREAKING, True),
        ("1.0.0", "2.0.0", BREAKING, False),
        ("1.0.0", "1.1.0", COMPATIBLE, False),
        ("1.0.0", "1.0.0", [], False),
        ("1.0", "2.0", BREAKING, True),  # not a semantic version
    ],
)
def test_required_bump(old_version, new_version, changes, needs_bump):
    assert (required_bump(old_version, new_version, changes) is not None) == needs_bump


def write_contract(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir()
    (folder / "code_lists.yaml").write_text(yaml.safe_dump({"channel": {"codes": {"window": "Window"}}}))
    path = folder / "case.odcs.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(("new_version", "exit_code"), [("1.1.0", 1), ("2.0.0", 0)])
def test_cli_diff_exits_1_when_a_breaking_change_lacks_a_major_bump(tmp_path, new_version, exit_code):
    old = write_contract(tmp_path / "old", contract(ID, prop("decided_at")))
    new = write_contract(tmp_path / "new", contract(ID, prop("note"), version=new_version))
    result = CliRunner().invoke(app, ["contracts", "diff", str(old), str(new)])
    assert result.exit_code == exit_code, result.output
    assert "BREAKING\tdecided_at\tfield decided_at removed" in result.output
    assert "compatible\tnote\toptional field note added" in result.output
    assert ("bump the major version" in result.output) == (exit_code == 1)


def test_cli_baseline_copies_contracts_and_code_lists(tmp_path):
    write_contract(tmp_path / "contracts", contract(ID))
    result = CliRunner().invoke(
        app, ["contracts", "baseline", "--contracts-dir", str(tmp_path / "contracts")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "contracts" / "baseline").iterdir()) == [
        "case.odcs.yaml",
        "code_lists.yaml",
    ]


# A contract without a baseline is new since the last release and has nothing to break.
WITH_BASELINE = sorted(p.name for p in CONTRACTS_DIR.glob("*.odcs.yaml") if (BASELINE_DIR / p.name).exists())


@pytest.mark.parametrize("file_name", WITH_BASELINE)
def test_breaking_changes_since_the_baseline_come_with_a_major_bump(file_name):
    changes, bump = diff_files(BASELINE_DIR / file_name, CONTRACTS_DIR / file_name)
    breaking = "\n".join(c.reason for c in changes if not c.compatible)
    assert bump is None, f"{file_name}: {bump}\n{breaking}"
