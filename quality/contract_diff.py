"""Compare two versions of one ODCS contract and say which changes break its producers or consumers.

Works on parsed YAML documents, not on the loader's objects, so a baseline from an older release
can be compared even when it no longer loads. "Breaking" follows what the hub does with a contract:
anything that can quarantine rows that used to pass, or that changes what consumers read or who
may read it, needs a major version bump.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from quality.contracts import RULE_ENGINE, Reference, table_references

CodeLists = Mapping[str, Collection[str]]  # list name -> its codes

# Every value of the old type is held exactly by the new one. long -> double is left out on purpose:
# doubles lose digits above 2**53.
WIDENINGS = frozenset({("integer", "long"), ("integer", "double"), ("float", "double")})
DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
# Spark accepts both spellings; a rename between them is no change.
TYPE_ALIASES = {"int": "integer", "bigint": "long"}
# From most to least open.
SHARING_RANK = {"unconditional": 0, "conditional": 1, "not_shared": 2}


@dataclass(frozen=True)
class Change:
    field: str  # "" for a change to the contract as a whole
    kind: str
    compatible: bool
    reason: str


def diff_contracts(
    old: Mapping[str, Any], new: Mapping[str, Any], old_code_lists: CodeLists, new_code_lists: CodeLists
) -> list[Change]:
    old_props, new_props = _properties(old), _properties(new)
    changes: list[Change] = []
    old_key, new_key = _primary_key(old_props), _primary_key(new_props)
    if old_key != new_key:
        changes.append(
            Change(
                "",
                "primary_key_changed",
                False,
                f"primary key changed from ({', '.join(old_key)}) to ({', '.join(new_key)}): "
                "rows are identified differently, so consumers' joins and upserts break",
            )
        )
    changes.extend(
        Change(name, "field_removed", False, f"field {name} removed: consumers that read it break")
        for name in old_props
        if name not in new_props
    )
    for name, prop in new_props.items():
        if name not in old_props:
            changes.append(_added(name, prop))
        else:
            changes.extend(_field_changes(name, old_props[name], prop, old_code_lists, new_code_lists))
    changes.extend(_reference_changes(_references(old), _references(new)))
    return changes


def required_bump(old_version: str, new_version: str, changes: Collection[Change]) -> str | None:
    """Why the version must change, or None when every breaking change comes with a major bump."""
    breaking = sum(not change.compatible for change in changes)
    if not breaking:
        return None
    old_major, new_major = _major(old_version), _major(new_version)
    if old_major is None or new_major is None:
        return (
            f"{breaking} breaking change(s) and version {old_version} -> {new_version} is not "
            "MAJOR.MINOR.PATCH: use semantic versions and bump the major one"
        )
    if new_major > old_major:
        return None
    return (
        f"{breaking} breaking change(s) but version {old_version} -> {new_version}: "
        f"bump the major version (to {old_major + 1}.0.0)"
    )


def _properties(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    (table,) = document["schema"]
    return {prop["name"]: prop for prop in table["properties"]}


def _primary_key(props: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    keyed = [prop for prop in props.values() if prop.get("primaryKey")]
    return tuple(prop["name"] for prop in sorted(keyed, key=lambda p: p.get("primaryKeyPosition", 0)))


def _custom(prop: Mapping[str, Any], key: str) -> Any:
    return next((e["value"] for e in prop.get("customProperties", []) if e["property"] == key), None)


def _type(prop: Mapping[str, Any]) -> str:
    declared = str(prop.get("physicalType") or prop.get("logicalType") or "")
    return TYPE_ALIASES.get(declared, declared)


def _rules(prop: Mapping[str, Any]) -> dict[str, str]:
    return {
        q["name"]: q.get("implementation", "")
        for q in prop.get("quality", [])
        if q.get("type") == "custom" and q.get("engine") == RULE_ENGINE
    }


def _references(document: Mapping[str, Any]) -> dict[tuple[str, ...], Reference]:
    """Property-level and schema-level references alike, by the columns that must resolve."""
    (table,) = document["schema"]
    return {r.columns: r for r in table_references(str(document.get("name", "")), table)}


def _major(version: str) -> int | None:
    match = re.fullmatch(r"(\d+)\.\d+\.\d+([-+].*)?", str(version))
    return int(match.group(1)) if match else None


def _added(name: str, prop: Mapping[str, Any]) -> Change:
    if prop.get("required"):
        return Change(
            name,
            "field_added",
            False,
            f"required field {name} added: rows from producers that do not send it are quarantined",
        )
    return Change(name, "field_added", True, f"optional field {name} added: existing rows stay valid")


def _field_changes(
    name: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_code_lists: CodeLists,
    new_code_lists: CodeLists,
) -> Iterator[Change]:
    yield from _type_change(name, _type(old), _type(new))
    yield from _required_change(name, bool(old.get("required")), bool(new.get("required")))
    yield from _code_list_changes(
        name, _custom(old, "codeList"), _custom(new, "codeList"), old_code_lists, new_code_lists
    )
    yield from _sharing_change(name, _custom(old, "sharingClass"), _custom(new, "sharingClass"))
    if not _custom(old, "personalData") and _custom(new, "personalData"):
        yield Change(
            name,
            "personal_data_added",
            False,
            f"field {name} is now personal data: consumers must protect it as such "
            "before they may keep receiving it",
        )
    yield from _rule_changes(name, _rules(old), _rules(new))


def _type_change(name: str, old: str, new: str) -> Iterator[Change]:
    if old == new:
        return
    if _widens(old, new):
        yield Change(
            name,
            "type_widened",
            True,
            f"field {name} widened from {old} to {new}: every old value still fits",
        )
    else:
        yield Change(
            name,
            "type_narrowed",
            False,
            f"field {name} changed from {old} to {new}: values that were valid {old} may not be valid "
            f"{new}, so rows are quarantined and consumers reading {old} break",
        )


def _widens(old: str, new: str) -> bool:
    if new == "string" or (old, new) in WIDENINGS:
        return True
    old_decimal, new_decimal = DECIMAL.fullmatch(old), DECIMAL.fullmatch(new)
    if old_decimal and new_decimal:
        old_precision, old_scale = map(int, old_decimal.groups())
        new_precision, new_scale = map(int, new_decimal.groups())
        # As many digits or more on both sides of the point.
        return new_scale >= old_scale and new_precision - new_scale >= old_precision - old_scale
    return False


def _required_change(name: str, old: bool, new: bool) -> Iterator[Change]:
    if not old and new:
        yield Change(
            name,
            "made_required",
            False,
            f"field {name} made required: rows without it, which passed before, are now quarantined",
        )
    elif old and not new:
        # Nothing a producer sends stops passing, hence compatible; the cost lands on consumers.
        yield Change(
            name,
            "made_optional",
            True,
            f"field {name} made optional: compatible for producers, who may now omit it, "
            "but consumers must now accept nulls",
        )


def _code_list_changes(
    name: str,
    old_list: str | None,
    new_list: str | None,
    old_code_lists: CodeLists,
    new_code_lists: CodeLists,
) -> Iterator[Change]:
    if old_list != new_list:
        if new_list is None:
            yield Change(
                name,
                "code_list_dropped",
                True,
                f"field {name} no longer checked against code list {old_list}: producers are freer, "
                "but consumers may now see values outside it",
            )
        else:
            yield Change(
                name,
                "code_list_changed",
                False,
                f"field {name} now checked against code list {new_list} instead of {old_list or 'none'}: "
                "values that passed before may now be quarantined",
            )
        return
    # A list name either side cannot resolve is the loader's problem, not a version change.
    if new_list is None or new_list not in old_code_lists or new_list not in new_code_lists:
        return
    old_codes, new_codes = set(old_code_lists[new_list]), set(new_code_lists[new_list])
    if removed := sorted(old_codes - new_codes):
        yield Change(
            name,
            "code_removed",
            False,
            f"code(s) {', '.join(removed)} removed from list {new_list} used by field {name}: "
            "rows carrying them are quarantined and consumers' stored values no longer resolve",
        )
    if added := sorted(new_codes - old_codes):
        yield Change(
            name,
            "code_added",
            True,
            f"code(s) {', '.join(added)} added to list {new_list} used by field {name}: "
            "every old value is still valid",
        )


def _sharing_change(name: str, old: str | None, new: str | None) -> Iterator[Change]:
    if old == new:
        return
    old_rank, new_rank = SHARING_RANK.get(str(old)), SHARING_RANK.get(str(new))
    if old_rank is None or new_rank is None:
        yield Change(
            name,
            "sharing_changed",
            False,
            f"field {name} sharing class changed from {old} to {new}, not both known classes: "
            "review it as breaking",
        )
    elif new_rank > old_rank:
        yield Change(
            name,
            "sharing_tightened",
            False,
            f"field {name} sharing tightened from {old} to {new}: consumers who had access lose it",
        )
    else:
        # Nobody's reads break, but the data reaches more people: that is the data owner's call.
        yield Change(
            name,
            "sharing_loosened",
            False,
            f"field {name} sharing loosened from {old} to {new}: it widens who sees the data, "
            "which needs a data-owner decision",
        )


def _rule_changes(name: str, old: Mapping[str, str], new: Mapping[str, str]) -> Iterator[Change]:
    for rule, implementation in new.items():
        if rule not in old:
            yield Change(
                name,
                "rule_added",
                False,
                f"row rule {rule} added to field {name}: rows that passed may now be quarantined",
            )
        elif old[rule] != implementation:
            yield Change(
                name,
                "rule_changed",
                False,
                f"row rule {rule} on field {name} changed from {old[rule]} to {implementation}: "
                "rows that passed may now be quarantined",
            )
    for rule in (rule for rule in old if rule not in new):
        yield Change(
            name,
            "rule_removed",
            True,
            f"row rule {rule} removed from field {name}: every row that passed still passes",
        )


def _target(ref: Reference) -> str:
    return f"{ref.target}.({', '.join(ref.target_columns)})"


def _reference_changes(
    old: Mapping[tuple[str, ...], Reference], new: Mapping[tuple[str, ...], Reference]
) -> Iterator[Change]:
    for columns in sorted(old.keys() | new.keys()):
        before, after = old.get(columns), new.get(columns)
        if before == after:
            continue
        what = ", ".join(columns)
        if after is None:
            assert before is not None
            yield Change(
                before.rule_field,
                "reference_removed",
                True,
                f"({what}) no longer has to exist in {_target(before)}: every row that passed still passes",
            )
        else:
            yield Change(
                after.rule_field,
                "reference_changed",
                False,
                f"({what}) must now exist in {_target(after)} (was "
                f"{_target(before) if before else 'unchecked'}): rows that passed may now be quarantined",
            )
