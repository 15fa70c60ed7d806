"""Who sees what of a subject profile: the contracts' sharing classes applied value by value.

Every value the API serves comes from one or more contract fields (`SUBJECT_SOURCES`,
`LIST_SOURCES`; an item field named as in its list's contract comes from that field). It is as
restricted as the strictest of them, and personal data if any of them is, so the classes and flags
are read from the contracts, never copied here. For a caller (a department stating a purpose,
with the grants it holds for that purpose):

- unconditional: every department;
- conditional: the department that reported the value (its owner), or one holding a grant for
  the purpose;
- not shared: the owner only.

Personal data goes masked (`api.masking`) to every department but its owner, unless the caller
holds a grant for the purpose that allows it unmasked. A value the caller may not see is left out
(null, or its entry dropped) and counted in `withheld` with its owning department and class, so a
window knows the data exists and whom to ask; a masked one is named in `masked`.

A value about the subject as a whole (its name, its legal representative) was reported by several
departments and has no single owner: only a grant opens it. Each department's own report of it is
in `identity` or `names_by_department`, where it owns it.

No FastAPI here: the route hands in the row and the caller's access and serves what comes back.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any, Literal, cast

from pydantic import BaseModel

from api.masking import Masker, mask_whole, masker_for
from api.model_json import Shape, field_order, field_shapes
from api.schemas import (
    CasePublic,
    CertificatePublic,
    DepartmentNamePublic,
    IdentityAttributePublic,
    ItemGuidePublic,
    MaterialOnFilePublic,
    OpenAlertPublic,
    SubjectProfilePublic,
)
from hub.grants import Grant, active_grants
from quality.contracts import Field, identity_attributes, load_contract

SharingClass = Literal["unconditional", "conditional", "not_shared"]
# What a caller gets of one value: it, its mask, or nothing because of the class named.
Verdict = Literal["shown", "masked", "conditional", "not_shared"]
STRICTNESS: dict[str, int] = {"unconditional": 0, "conditional": 1, "not_shared": 2}

# What each value about the subject as a whole is read or derived from ("contract.field").
SUBJECT_SOURCES: dict[str, tuple[str, ...]] = {
    "subject_type": ("case.subject_type", "subject.subject_type"),
    "subject_name": ("case.subject_name", "subject.name"),
    "departments": ("case.department", "subject.department"),
    "case_count": ("case.case_id",),
    "open_case_count": ("case.status",),
    "risk_tier": ("case.item_code", "approval_item.risk_tier"),
    "last_activity_at": ("case.received_at", "case.decided_at"),
    "last_updated_at": ("case.updated_at", "subject.updated_at"),
    "legal_representative_id": ("subject.legal_representative_id",),
    "represented_entities": ("subject.subject_id", "subject.legal_representative_id"),
}


@dataclass(frozen=True)
class ListSource:
    """A list in the profile: the contract its items' fields are named after, the item field that
    names the department an item belongs to, and the sources of the fields named otherwise."""

    contract: str
    owner: str
    item: type[BaseModel]
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# The supervision rules read a case's status, time limits and flow log, the materials handed in and
# the item's fee standard; an alert is as restricted as what it was raised from.
ALERT_RULE_SOURCES = (
    "case.status",
    "case.received_at",
    "case.promised_deadline",
    "case.decided_at",
    "case_event.event_type",
    "case_event.fee_amount",
    "material.material_type",
    "material.accepted",
    "approval_item.fee_standard",
)

LIST_SOURCES: dict[str, ListSource] = {
    "cases": ListSource("case", owner="department", item=CasePublic),
    "certificates": ListSource(
        "certificate",
        owner="issuing_department",
        item=CertificatePublic,
        derived={"in_force": ("certificate.status", "certificate.valid_from", "certificate.valid_until")},
    ),
    "materials_on_file": ListSource("material", owner="department", item=MaterialOnFilePublic),
    "open_alerts": ListSource(
        "case",
        owner="department",
        item=OpenAlertPublic,
        derived={"rule": ALERT_RULE_SOURCES, "raised_at": (*ALERT_RULE_SOURCES, "case_event.event_at")},
    ),
    "names_by_department": ListSource(
        "case",
        owner="department",
        item=DepartmentNamePublic,
        derived={"name": ("case.subject_name",), "seen_at": ("case.received_at",)},
    ),
}

# Fields of the response that are not data about the subject: the id the caller asked for (hiding
# what the caller sent protects nothing), gold's build and version, and the access report itself.
NOT_SUBJECT_DATA = frozenset(
    {"subject_id", "valid_on", "built_at", "gold_version", "access", "withheld", "masked"}
)


@dataclass(frozen=True)
class FieldRule:
    """What the contracts say about one served value."""

    sharing_class: SharingClass
    personal_data: bool
    mask: Masker = mask_whole

    def stricter(self, sharing_class: str) -> FieldRule:
        """This rule, or with `sharing_class` when that is stricter (unknown classes are strictest)."""
        if STRICTNESS.get(sharing_class, len(STRICTNESS)) <= STRICTNESS[self.sharing_class]:
            return self
        known = sharing_class if sharing_class in STRICTNESS else "not_shared"
        return FieldRule(cast(SharingClass, known), self.personal_data, self.mask)


# A value whose source the contracts no longer name is shown to nobody but its owner.
UNKNOWN = FieldRule("not_shared", personal_data=True)


def rule_from(fields: Sequence[Field]) -> FieldRule:
    """The rule of a value read or derived from `fields`: the strictest class, personal if any is."""
    for f in fields:
        if f.sharing_class not in STRICTNESS:
            raise ValueError(f"field {f.name}: unknown sharing class {f.sharing_class!r}")
    strictest = max(fields, key=lambda f: STRICTNESS[f.sharing_class])
    personal = [f for f in fields if f.personal_data]
    return FieldRule(
        cast(SharingClass, strictest.sharing_class),
        personal_data=bool(personal),
        mask=masker_for(personal[0]) if personal else mask_whole,
    )


def _contract_fields(sources: Iterable[str]) -> list[Field]:
    fields = []
    for source in sources:
        contract, name = source.split(".", 1)
        fields.append(load_contract(contract).field(name))
    return fields


# Compared and hashed as itself: the views of its items are cached by it (`_item_view`).
@dataclass(frozen=True, eq=False)
class ListPolicy:
    owner: str
    fields: Mapping[str, FieldRule]
    # What gives an item field's value its served form (`api.model_json`).
    shapes: Mapping[str, Shape] = field(default_factory=dict)


@dataclass(frozen=True)
class SharingPolicy:
    """The rule of every served value, from the contracts."""

    subject: Mapping[str, FieldRule]
    identity: Mapping[str, FieldRule]
    lists: Mapping[str, ListPolicy]

    def conflict(self, attribute: str) -> FieldRule:
        """A conflict says departments hold different values of an attribute: it is derived from all
        of them, so it is as restricted as the attribute."""
        return self.identity.get(attribute) or self.subject.get(attribute) or UNKNOWN


@cache
def sharing_policy() -> SharingPolicy:
    """Built once from the contracts; fails when a served field names no contract field."""
    served = set(SubjectProfilePublic.model_fields) - NOT_SUBJECT_DATA - set(LIST_SOURCES)
    served -= {"identity", "conflicts"}
    if served != set(SUBJECT_SOURCES):
        raise ValueError(
            f"served fields without sources, or sources not served: {served ^ set(SUBJECT_SOURCES)}"
        )
    lists = {}
    for name, source in LIST_SOURCES.items():
        rules = {}
        for item_field in source.item.model_fields:
            sources = source.derived.get(item_field, (f"{source.contract}.{item_field}",))
            rules[item_field] = rule_from(_contract_fields(sources))
        lists[name] = ListPolicy(source.owner, rules, field_shapes(source.item))
    return SharingPolicy(
        subject={name: rule_from(_contract_fields(sources)) for name, sources in SUBJECT_SOURCES.items()},
        identity={f.name: rule_from([f]) for f in identity_attributes()},
        lists=lists,
    )


# What each field of the item guide is read from. The guide goes to every department, with no
# purpose and no grant, so the app does not start while one of these is not unconditional or is
# personal data (`catalogue_is_open`): such a field would need the access policy.
ITEM_GUIDE_SOURCES: dict[str, tuple[str, ...]] = {
    "item_code": ("approval_item.item_code",),
    "item_name": ("approval_item.item_name",),
    "level1": ("approval_item.level1_code", "approval_item.level1_name"),
    "level2": ("approval_item.level2_code", "approval_item.level2_name"),
    "item_type": ("approval_item.item_type",),
    "department": ("approval_item.department",),
    "statutory_days": ("approval_item.statutory_days",),
    "promised_days": ("approval_item.promised_days",),
    "requirements": (
        "item_requirement.item_code",
        "item_requirement.material_type",
        "item_requirement.mandatory",
        "item_requirement.reusable",
        "item_requirement.validity_rule",
    ),
    "fee_standard": ("approval_item.fee_standard",),
    "fee_free": ("approval_item.fee_free",),
    "handling_tier": ("approval_item.handling_tier",),
    "risk_tier": ("approval_item.risk_tier",),
    "joint_departments": ("approval_item.joint_departments",),
}


def unconditional_fields_only(sources: Mapping[str, tuple[str, ...]]) -> None:
    """Fails unless every served value in `sources` is unconditional and no personal data."""
    closed = {
        name: (rule.sharing_class, rule.personal_data)
        for name, rule in ((name, rule_from(_contract_fields(fields))) for name, fields in sources.items())
        if rule.sharing_class != "unconditional" or rule.personal_data
    }
    if closed:
        raise ValueError(f"served to every department, but not open to every department: {closed}")


@cache
def catalogue_is_open() -> bool:
    """Checked once at the app's start: the item guide serves only what every department may see."""
    served = set(ItemGuidePublic.model_fields)
    if served != set(ITEM_GUIDE_SOURCES):
        raise ValueError(
            f"item guide fields without sources, or sources not served: {served ^ set(ITEM_GUIDE_SOURCES)}"
        )
    unconditional_fields_only(ITEM_GUIDE_SOURCES)
    return True


@dataclass(frozen=True)
class Standing:
    """What a caller's verdict on a value depends on besides the value's rule and owner: its
    department, whether it holds a grant for the purpose, and whether one of those lets personal
    data through unmasked. Callers of one standing are given the same of every value."""

    department: str
    granted: bool
    unmasked: bool

    def verdict(self, rule: FieldRule, owner: str | None) -> Verdict:
        if owner is not None and owner == self.department:
            return "shown"
        if rule.sharing_class == "not_shared":
            return "not_shared"
        if rule.sharing_class == "conditional" and not self.granted:
            return "conditional"
        if rule.personal_data and not self.unmasked:
            return "masked"
        return "shown"


@dataclass(frozen=True)
class Access:
    """A caller's standing for one request: its department, the purpose it stated, and the grants
    it holds that are active for that purpose."""

    department: str
    purpose: str
    grants: tuple[Grant, ...] = ()

    @classmethod
    def at(cls, department: str, purpose: str, grants: Iterable[Grant], now: dt.datetime) -> Access:
        return cls(department, purpose, active_grants(grants, department, purpose, now))

    @cached_property
    def standing(self) -> Standing:
        return Standing(self.department, bool(self.grants), any(g.unmasked for g in self.grants))

    @property
    def unmasked(self) -> bool:
        return self.standing.unmasked

    def verdict(self, rule: FieldRule, owner: str | None) -> Verdict:
        return self.standing.verdict(rule, owner)


# An item field as a caller of one standing is given it in items of one owner: the field, its path
# in the report, the verdict, the mask and the shape of its served form.
FieldView = tuple[str, str, Verdict, Masker, Shape | None]


@lru_cache(maxsize=4096)
def _item_view(name: str, policy: ListPolicy, owner: str | None, standing: Standing) -> tuple[FieldView, ...]:
    """Decided once per list, owner and standing, not for each value of each item: a profile holds
    dozens of items, and their owners and the callers' standings are few."""
    return tuple(
        (key, f"{name}.{key}", standing.verdict(rule, owner), rule.mask, policy.shapes.get(key))
        for key, rule in policy.fields.items()
    )


def _masked(value: Any, mask: Masker) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [mask(v) if isinstance(v, str) else None for v in value]
    # Nothing partial can be shown of a non-text value (none is personal data today).
    return None


def _withheld_reason(sharing_class: str, owner: str | None, purpose: str) -> str:
    if sharing_class == "not_shared":
        if owner is None:
            return "not shared, and drawn from several departments' records"
        return f"not shared: only {owner} sees it"
    whose = owner or "the departments that reported it"
    return f"conditional: {whose} sees it, and a department holding a grant for {purpose}"


class Viewer:
    """Applies the policy to the values of one response, value by value, and counts what it
    showed, masked and withheld for the response's report and the audit."""

    def __init__(self, access: Access) -> None:
        self.access = access
        self.withheld: Counter[tuple[str, str | None, str]] = Counter()
        self.masked: set[str] = set()
        self.returned: set[str] = set()

    def value(self, path: str, rule: FieldRule, owner: str | None, value: Any) -> Any:
        # An absent value has nothing to withhold.
        if value is None or value == []:
            return value
        verdict = self.access.verdict(rule, owner)
        if verdict == "shown":
            self.returned.add(path)
            return value
        if verdict == "masked":
            self.masked.add(path)
            self.returned.add(path)
            return _masked(value, rule.mask)
        self.withheld[(path, owner, verdict)] += 1
        return None

    def item(self, name: str, policy: ListPolicy, item: Mapping[str, Any]) -> dict[str, Any]:
        # What `value` does, with the verdicts decided beforehand (`_item_view`).
        owner = item.get(policy.owner)
        visible = {}
        for key, path, verdict, mask, shape in _item_view(name, policy, owner, self.access.standing):
            value = item.get(key)
            if value is not None and value != []:
                if verdict == "shown":
                    self.returned.add(path)
                    if shape is not None:
                        value = shape(value)
                elif verdict == "masked":
                    self.masked.add(path)
                    self.returned.add(path)
                    value = _masked(value, mask)
                else:
                    self.withheld[(path, owner, verdict)] += 1
                    value = None
            visible[key] = value
        return visible

    def identity(self, policy: SharingPolicy, entry: Mapping[str, Any]) -> dict[str, Any] | None:
        attribute = entry["field"]
        # Gold wrote each entry with its class at build time; a contract tightened since applies now.
        rule = policy.identity.get(attribute, UNKNOWN).stricter(entry["sharing_class"])
        value = self.value(f"identity.{attribute}", rule, entry["department"], entry["value"])
        if value is None:
            return None
        updated_at = entry["updated_at"]
        return {
            "field": attribute,
            "value": value,
            "sharing_class": rule.sharing_class,
            "department": entry["department"],
            "updated_at": None if updated_at is None else IDENTITY_SHAPES["updated_at"](updated_at),
        }

    def conflicts(self, policy: SharingPolicy, attributes: Iterable[str]) -> list[str]:
        shown = []
        for attribute in attributes:
            verdict = self.access.verdict(policy.conflict(attribute), None)
            if verdict in ("shown", "masked"):
                # An attribute's name is no personal data even when its values are.
                shown.append(attribute)
                self.returned.add("conflicts")
            else:
                # Counted under "conflicts" alone: the attribute's name is what is withheld.
                self.withheld[("conflicts", None, verdict)] += 1
        return shown

    def report(self) -> dict[str, Any]:
        return {
            "access": {
                "department": self.access.department,
                "purpose": self.access.purpose,
                "grant_ids": [g.grant_id for g in self.access.grants],
                "unmasked": self.access.unmasked,
            },
            "withheld": [
                {
                    "field": path,
                    "department": owner,
                    "sharing_class": sharing_class,
                    "count": count,
                    "reason": _withheld_reason(sharing_class, owner, self.access.purpose),
                }
                for (path, owner, sharing_class), count in sorted(
                    self.withheld.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2])
                )
            ],
            "masked": sorted(self.masked),
            # Not served: what the audit records as returned, with `withheld` and `masked`.
            "returned": sorted(self.returned),
        }


IDENTITY_SHAPES = field_shapes(IdentityAttributePublic)
PROFILE_SHAPES = field_shapes(SubjectProfilePublic)


def visible_profile(
    row: Mapping[str, Any],
    access: Access,
    policy: SharingPolicy | None = None,
    gold_version: int | None = None,
) -> dict[str, Any]:
    """What `access` may see of a gold profile row, with what it may not listed in `withheld`, and
    the paths of the values it is given (shown or masked) in `returned`, for the audit.

    In the served form of `SubjectProfilePublic` (`api.model_json`), from gold's `gold_version`,
    with `returned` after the model's fields."""
    policy = policy or sharing_policy()
    viewer = Viewer(access)
    visible: dict[str, Any] = {"subject_id": row["subject_id"]}
    for name, rule in policy.subject.items():
        visible[name] = viewer.value(name, rule, None, row.get(name))
    visible["identity"] = [
        shown for entry in row.get("identity") or [] if (shown := viewer.identity(policy, entry)) is not None
    ]
    for name, list_policy in policy.lists.items():
        visible[name] = [viewer.item(name, list_policy, item) for item in row.get(name) or []]
    visible["conflicts"] = viewer.conflicts(policy, row.get("conflicts") or [])
    visible["valid_on"] = row.get("valid_on")
    visible["built_at"] = row.get("built_at")
    visible["gold_version"] = gold_version
    visible |= viewer.report()
    for name, shape in PROFILE_SHAPES.items():
        if visible[name] is not None:
            visible[name] = shape(visible[name])
    served = {name: visible[name] for name in field_order(SubjectProfilePublic)}
    served["returned"] = visible["returned"]
    return served


# "Holds a valid X" is read from these fields of the certificates of type X; a certificate whose
# fields the caller may not see does not count towards its answer (and is counted in `withheld`).
ATTESTATION_SOURCES = (
    "certificate.certificate_type",
    "certificate.status",
    "certificate.valid_from",
    "certificate.valid_until",
)
VALID = "valid"


@cache
def attestation_rule() -> FieldRule:
    return rule_from(_contract_fields(ATTESTATION_SOURCES))


def in_force(certificate: Mapping[str, Any], day: dt.date) -> bool:
    """Valid on `day`: its status is valid and the day is within its validity."""
    valid_until = certificate.get("valid_until")
    return (
        certificate.get("status") == VALID
        and certificate["valid_from"] <= day
        and (valid_until is None or valid_until >= day)
    )


def attestation(
    row: Mapping[str, Any] | None, certificate_type: str, day: dt.date, access: Access
) -> dict[str, Any]:
    """Whether the subject of `row` (None: one gold does not know) holds a certificate of
    `certificate_type` in force on `day`, as far as `access` may see its certificates; nothing of
    the certificate itself. `returned`, `withheld` and `access` as `visible_profile` reports them."""
    viewer = Viewer(access)
    holds = False
    for certificate in (row or {}).get("certificates") or []:
        if certificate["certificate_type"] != certificate_type or not in_force(certificate, day):
            continue
        seen = viewer.value("holds", attestation_rule(), certificate["issuing_department"], True)
        holds = holds or seen is True
    # The answer is returned whatever it is: "no" tells as much as "yes".
    return {"holds": holds} | viewer.report() | {"returned": ["holds"]}


@cache
def material_file_rule() -> FieldRule:
    """Who may fetch a material's file: as the contracts restrict its key (conditional), and as
    personal data whatever they say of the key: the file is an ID card copy, a health certificate,
    a contract with names in it. A file cannot be masked, so a masked grant does not open it."""
    key = sharing_policy().lists["materials_on_file"].fields["file_object_key"]
    return FieldRule(key.sharing_class, personal_data=True, mask=key.mask)


def material_file_refusal(material: Mapping[str, Any], access: Access) -> str | None:
    """Why `access` may not fetch the file of `material` (an item of `materials_on_file`), or None."""
    owner = material["department"]
    verdict = access.verdict(material_file_rule(), owner)
    if verdict == "shown":
        return None
    if verdict == "masked":
        return (
            f"the file holds personal data, which a grant for {access.purpose} opens only unmasked; "
            f"{owner} holds it"
        )
    return _withheld_reason(verdict, owner, access.purpose)
