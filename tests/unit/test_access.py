"""The access matrix: department x sharing class x grant, walked value by value over a hand-made
profile row whose identity attributes come from the subject contract, with each value's class and
personal-data flag read from the contracts."""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import pytest

from api.access import (
    LIST_SOURCES,
    NOT_SUBJECT_DATA,
    SUBJECT_SOURCES,
    Access,
    FieldRule,
    attestation,
    rule_from,
    sharing_policy,
    visible_profile,
)
from api.schemas import SubjectProfilePublic
from hub.grants import Grant
from quality.contracts import identity_attributes, load_contract
from tests.profile_rows import OTHER, OWNER, grant, profile_row

pytestmark = pytest.mark.unit

PURPOSE = "approval_handling"
NOW = dt.datetime(2026, 11, 26, 2, tzinfo=dt.UTC)
THIRD = "health"  # holds no records of the subject

Outcome = Literal["shown", "masked", "withheld"]
SHOWN: Outcome = "shown"
MASKED: Outcome = "masked"
WITHHELD: Outcome = "withheld"


# What the caller holds, beside the grants it does not: each builds the grants for a caller.
GRANT_STATES: dict[str, Callable[[str], list[Grant]]] = {
    "no grant": lambda caller: [],
    "grant for another purpose": lambda caller: [grant(caller, "statistics", unmasked=True)],
    "another department's grant": lambda caller: [grant(THIRD if caller != THIRD else OWNER, unmasked=True)],
    "grant, masked": lambda caller: [grant(caller, unmasked=False)],
    "grant, unmasked": lambda caller: [grant(caller, unmasked=True)],
    "grant expired": lambda caller: [grant(caller, unmasked=True, valid_until=dt.date(2026, 11, 25))],
    "grant revoked": lambda caller: [grant(caller, unmasked=True, revoked_at=NOW - dt.timedelta(minutes=1))],
}

# The rule of the issue, for a department that does not own the value: by sharing class and
# personal data, what each grant state gets. The owner always gets the value itself.
MATRIX: dict[tuple[str, bool], dict[str, Outcome]] = {
    ("unconditional", False): dict.fromkeys(GRANT_STATES, SHOWN),
    ("unconditional", True): dict.fromkeys(GRANT_STATES, MASKED) | {"grant, unmasked": SHOWN},
    ("conditional", False): dict.fromkeys(GRANT_STATES, WITHHELD)
    | {"grant, masked": SHOWN, "grant, unmasked": SHOWN},
    ("conditional", True): dict.fromkeys(GRANT_STATES, WITHHELD)
    | {"grant, masked": MASKED, "grant, unmasked": SHOWN},
    ("not_shared", False): dict.fromkeys(GRANT_STATES, WITHHELD),
    ("not_shared", True): dict.fromkeys(GRANT_STATES, WITHHELD),
}


@dataclass(frozen=True)
class Probe:
    """One value of the row: where it is, what it is, what the contracts say of it, who owns it."""

    path: str
    label: str
    read: Callable[[dict[str, Any]], Any]
    original: Any
    sharing_class: str
    personal_data: bool
    owner: str | None


def _identity_reader(attribute: str, department: str) -> Callable[[dict[str, Any]], Any]:
    def read(visible: dict[str, Any]) -> Any:
        found = [
            e["value"]
            for e in visible["identity"]
            if e["field"] == attribute and e["department"] == department
        ]
        return found[0] if found else None

    return read


def _item_reader(list_name: str, index: int, key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda visible: visible[list_name][index][key]


def _top_reader(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda visible: visible[name]


def _rule(sources: tuple[str, ...]) -> FieldRule:
    """Straight from the contracts: the strictest class of the sources, personal if any is."""
    fields = [load_contract(s.split(".")[0]).field(s.split(".")[1]) for s in sources]
    return rule_from(fields)


def probes(row: dict[str, Any]) -> list[Probe]:
    """Every value of the row; an absent one (an open case's decision time) has nothing to tell."""
    found: list[Probe] = []
    for name, sources in SUBJECT_SOURCES.items():
        rule = _rule(sources)
        found.append(
            Probe(name, name, _top_reader(name), row[name], rule.sharing_class, rule.personal_data, None)
        )
    for entry in row["identity"]:
        field = load_contract("subject").field(entry["field"])
        found.append(
            Probe(
                f"identity.{field.name}",
                f"identity.{field.name} of {entry['department']}",
                _identity_reader(field.name, entry["department"]),
                entry["value"],
                field.sharing_class,
                field.personal_data,
                entry["department"],
            )
        )
    for list_name, source in LIST_SOURCES.items():
        for index, item in enumerate(row[list_name]):
            for key in source.item.model_fields:
                rule = _rule(source.derived.get(key, (f"{source.contract}.{key}",)))
                found.append(
                    Probe(
                        f"{list_name}.{key}",
                        f"{list_name}[{index}].{key}",
                        _item_reader(list_name, index, key),
                        item[key],
                        rule.sharing_class,
                        rule.personal_data,
                        item[source.owner],
                    )
                )
    return [p for p in found if p.original not in (None, [])]


def _outcome(visible: dict[str, Any], probe: Probe) -> Outcome:
    value = probe.read(visible)
    if value is None:
        return WITHHELD
    return SHOWN if value == probe.original else MASKED


def test_the_row_covers_every_served_value_and_class() -> None:
    walked = probes(profile_row())
    attributes = {p.path.removeprefix("identity.") for p in walked if p.path.startswith("identity.")}
    assert attributes == {f.name for f in identity_attributes()}
    served = set(SUBJECT_SOURCES) | {
        f"{name}.{key}" for name, source in LIST_SOURCES.items() for key in source.item.model_fields
    }
    assert served <= {p.path for p in walked}
    # Every class is walked, with and without personal data where the contracts have such fields.
    assert {(p.sharing_class, p.personal_data) for p in walked} >= {
        ("unconditional", False),
        ("conditional", False),
        ("conditional", True),
        ("not_shared", True),
    }


@pytest.mark.parametrize("grant_state", list(GRANT_STATES))
@pytest.mark.parametrize("caller", [OWNER, OTHER, THIRD])
def test_access_matrix(caller: str, grant_state: str) -> None:
    row = profile_row()
    access = Access.at(caller, PURPOSE, GRANT_STATES[grant_state](caller), NOW)
    visible = visible_profile(row, access)
    SubjectProfilePublic.model_validate(visible | {"gold_version": 1})
    withheld = {(w["field"], w["department"], w["sharing_class"]) for w in visible["withheld"]}
    wrong = []
    for probe in probes(row):
        own = probe.owner == caller
        expected = SHOWN if own else MATRIX[(probe.sharing_class, probe.personal_data)][grant_state]
        got = _outcome(visible, probe)
        if got != expected:
            wrong.append(f"{probe.label} ({probe.sharing_class}): expected {expected}, got {got}")
        if got == WITHHELD and (probe.path, probe.owner, probe.sharing_class) not in withheld:
            wrong.append(f"{probe.label} withheld but not listed in withheld")
        if got == MASKED and probe.path not in visible["masked"]:
            wrong.append(f"{probe.label} masked but not listed in masked")
    assert not wrong, "\n".join(wrong)
    # What is listed as withheld is withheld: no entry for values the caller sees.
    listed = {(p.path, p.owner) for p in probes(row) if _outcome(visible, p) == WITHHELD}
    assert {(w["field"], w["department"]) for w in visible["withheld"] if w["field"] != "conflicts"} == listed


def test_masked_values_keep_what_a_window_needs() -> None:
    access = Access.at(OTHER, PURPOSE, [grant(OTHER, unmasked=False)], NOW)
    visible = visible_profile(profile_row(), access)
    assert visible["subject_name"] == "陈*"
    assert visible["legal_representative_id"] == "110105********002X"
    assert visible["represented_entities"] == ["913501********0Y43"]
    own_name, owners_name = visible["names_by_department"][1], visible["names_by_department"][0]
    assert (own_name["department"], own_name["name"]) == (OTHER, "陈玮")
    assert (owners_name["department"], owners_name["name"]) == (OWNER, "陈*")
    birth_dates = {e["department"]: e["value"] for e in visible["identity"] if e["field"] == "birth_date"}
    assert birth_dates == {OWNER: "1949-**-**", OTHER: "2030-06-30"}
    assert visible["access"] == {
        "department": OTHER,
        "purpose": PURPOSE,
        "grant_ids": [f"{OTHER}-{PURPOSE}-0123456789abcdef"],
        "unmasked": False,
    }


def test_a_department_without_a_grant_gets_the_unconditional_part_and_what_is_withheld() -> None:
    visible = visible_profile(profile_row(), Access.at(THIRD, PURPOSE, [], NOW))
    assert (visible["subject_type"], visible["departments"], visible["case_count"]) == (
        "person",
        [OWNER, OTHER],
        2,
    )
    assert [c["case_id"] for c in visible["cases"]] == ["SC2", "SY1"]
    assert visible["subject_name"] is None
    assert [m["file_object_key"] for m in visible["materials_on_file"]] == [None, None]
    assert [m["sha256"] for m in visible["materials_on_file"]] == ["ab" * 32, "cd" * 32]
    assert {e["field"] for e in visible["identity"]} == {
        f.name for f in identity_attributes() if f.sharing_class == "unconditional"
    }
    by_field = {(w["field"], w["department"]): w for w in visible["withheld"]}
    phone = by_field[("identity.mobile_phone", OWNER)]
    assert (phone["sharing_class"], phone["count"]) == ("not_shared", 1)
    assert f"only {OWNER} sees it" in phone["reason"]
    keys = by_field[("materials_on_file.file_object_key", OTHER)]
    assert (keys["sharing_class"], keys["count"]) == ("conditional", 1)
    assert PURPOSE in keys["reason"]
    assert visible["masked"] == []


def test_a_conflict_is_shown_only_to_whoever_may_see_the_attribute() -> None:
    conflicts = ["gender", "mobile_phone", "subject_name", "subject_type"]
    without = visible_profile(profile_row(), Access.at(THIRD, PURPOSE, [], NOW))
    assert without["conflicts"] == ["subject_type"]
    granted = visible_profile(profile_row(), Access.at(THIRD, PURPOSE, [grant(THIRD, unmasked=False)], NOW))
    assert granted["conflicts"] == ["gender", "subject_name", "subject_type"]
    # Several departments' phone numbers differ: no one department owns that fact, so no one sees it.
    owner = visible_profile(profile_row(), Access.at(OWNER, PURPOSE, [grant(OWNER, unmasked=True)], NOW))
    assert owner["conflicts"] == [c for c in conflicts if c != "mobile_phone"]
    withheld = [w for w in without["withheld"] if w["field"] == "conflicts"]
    # The attribute's name is what is withheld, so the entries say only how many.
    assert sorted((w["sharing_class"], w["count"]) for w in withheld) == [
        ("conditional", 2),
        ("not_shared", 1),
    ]
    assert {w["department"] for w in withheld} == {None}


def test_a_class_gold_recorded_stricter_than_the_contract_wins() -> None:
    row = profile_row()
    for entry in row["identity"]:
        if entry["field"] == "gender":
            entry["sharing_class"] = "not_shared"
    row["identity"].append(dict(row["identity"][0], field="retired_attribute", sharing_class="unconditional"))
    visible = visible_profile(row, Access.at(OTHER, PURPOSE, [grant(OTHER, unmasked=True)], NOW))
    assert [e["department"] for e in visible["identity"] if e["field"] == "gender"] == [OTHER]
    # An attribute the contracts no longer have is shown to nobody but the department that sent it.
    assert "retired_attribute" not in {e["field"] for e in visible["identity"]}
    assert ("identity.retired_attribute", OWNER, "not_shared") in {
        (w["field"], w["department"], w["sharing_class"]) for w in visible["withheld"]
    }


def test_absent_values_are_not_listed_as_withheld() -> None:
    row = profile_row() | {"legal_representative_id": None, "represented_entities": []}
    visible = visible_profile(row, Access.at(THIRD, PURPOSE, [], NOW))
    assert (visible["legal_representative_id"], visible["represented_entities"]) == (None, [])
    assert not {"legal_representative_id", "represented_entities"} & {w["field"] for w in visible["withheld"]}


def test_a_value_is_as_restricted_as_the_strictest_field_it_comes_from() -> None:
    case, subject = load_contract("case"), load_contract("subject")
    rule = rule_from([case.field("department"), subject.field("mobile_phone")])
    assert (rule.sharing_class, rule.personal_data) == ("not_shared", True)
    assert rule_from([case.field("case_id"), case.field("status")]) == FieldRule("unconditional", False)
    with pytest.raises(ValueError, match="unknown sharing class"):
        rule_from([replace(case.field("case_id"), sharing_class="open")])


def _nullable(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


def test_every_value_the_policy_can_withhold_or_mask_to_nothing_is_nullable() -> None:
    """A conditional or not-shared value is null for some callers, so its schema field must say so."""
    policy = sharing_policy()
    problems = []
    for name, rule in policy.subject.items():
        if rule.sharing_class != "unconditional" and not _nullable(
            SubjectProfilePublic.model_fields[name].annotation
        ):
            problems.append(name)
    for list_name, source in LIST_SOURCES.items():
        for key, rule in policy.lists[list_name].fields.items():
            if rule.sharing_class != "unconditional" and not _nullable(
                source.item.model_fields[key].annotation
            ):
                problems.append(f"{list_name}.{key}")
    assert not problems, f"withheld as null, but not nullable in api/schemas.py: {problems}"


def test_every_served_field_has_its_sources() -> None:
    served = set(SubjectProfilePublic.model_fields) - NOT_SUBJECT_DATA - set(LIST_SOURCES)
    assert served - {"identity", "conflicts"} == set(SUBJECT_SOURCES)
    policy = sharing_policy()
    for list_name, source in LIST_SOURCES.items():
        assert set(policy.lists[list_name].fields) == set(source.item.model_fields)


def test_an_attestation_counts_only_certificates_in_force_that_the_caller_may_see(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = profile_row()
    today = dt.date(2026, 11, 26)
    held = attestation(row, "food_business_licence", today, Access.at(THIRD, PURPOSE, [], NOW))
    assert (held["holds"], held["withheld"], held["returned"]) == (True, [], ["holds"])
    # Not yet valid on an earlier day, and no longer after its last.
    for day in (dt.date(2026, 10, 31), dt.date(2031, 11, 1)):
        assert (
            attestation(row, "food_business_licence", day, Access.at(THIRD, PURPOSE, [], NOW))["holds"]
            is False
        )
    assert (
        attestation(None, "food_business_licence", today, Access.at(THIRD, PURPOSE, [], NOW))["holds"]
        is False
    )

    # Were the contracts to make certificates conditional, a department without a grant would not
    # be told, and would be told that something is withheld.
    monkeypatch.setattr("api.access.attestation_rule", lambda: FieldRule("conditional", False))
    hidden = attestation(row, "food_business_licence", today, Access.at(THIRD, PURPOSE, [], NOW))
    assert hidden["holds"] is False
    assert [(w["field"], w["department"], w["sharing_class"]) for w in hidden["withheld"]] == [
        ("holds", OWNER, "conditional")
    ]
    owner = attestation(row, "food_business_licence", today, Access.at(OWNER, PURPOSE, [], NOW))
    assert owner["holds"] is True
