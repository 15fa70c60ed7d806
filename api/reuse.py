"""The reuse plan (材料复用): an item's requirement standard set against the materials the subject
has on file, so a window asks only for the papers the hub does not already hold (最多跑一次).

For each material the item requires: `reuse` when a copy on file is still valid today, was
accepted by the department that took it, and the item lets a copy on file stand in; otherwise
`collect`, with the reason. The copy on file is gold's `materials_on_file` (from
`material_registry`: per type, the newest still valid at gold's build, accepted ones first), shown
through the access policy like the profile's. No FastAPI here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from api.access import Access, Viewer, sharing_policy

Decision = Literal["reuse", "collect"]
Reason = Literal["on_file", "not_on_file", "expired", "not_accepted", "not_reusable"]
SINGLE_USE = "single_use"
MATERIAL_PATH = "requirements.material"
# Derived from the materials on file, so they are subject data the audit records as returned.
DERIVED_PATHS = ("requirements.decision", "requirements.reason")


def _reason(requirement: Mapping[str, Any], material: Mapping[str, Any] | None, day: dt.date) -> Reason:
    if not requirement["reusable"] or requirement["validity_rule"] == SINGLE_USE:
        return "not_reusable"
    if material is None:
        return "not_on_file"
    valid_until = material.get("valid_until")
    # Gold kept only copies valid on its build day; one may have run out since.
    if valid_until is not None and valid_until < day:
        return "expired"
    if not material.get("accepted"):
        return "not_accepted"
    return "on_file"


def _explanation(reason: Reason, material: Mapping[str, Any] | None) -> str:
    if reason == "not_reusable":
        return "the item's requirement standard asks for a new one with every application"
    if material is None:
        return "no valid copy is on file with any department"
    holder = material["department"]
    if reason == "expired":
        return f"the copy on file with {holder} was valid until {material['valid_until']}"
    if reason == "not_accepted":
        return f"the copy on file with {holder} was turned down by it"
    return f"a valid copy {holder} accepted is on file: the applicant need not bring it"


def reuse_plan(
    row: Mapping[str, Any] | None, requirements: Sequence[Mapping[str, Any]], day: dt.date, access: Access
) -> dict[str, Any]:
    """The plan for the subject of `row` (None: one gold does not know, so nothing is on file),
    judged on `day`, as `access` may see the materials; `returned`, `withheld`, `masked` and
    `access` as `visible_profile` reports them."""
    policy = sharing_policy().lists["materials_on_file"]
    viewer = Viewer(access)
    on_file = {m["material_type"]: m for m in (row or {}).get("materials_on_file") or []}
    entries = []
    for requirement in requirements:
        material = on_file.get(requirement["material_type"])
        reason = _reason(requirement, material, day)
        decision: Decision = "reuse" if reason == "on_file" else "collect"
        # A copy the item would not take anyway is no business of this window's.
        shown = None if material is None or reason == "not_reusable" else material
        entries.append(
            {
                "material_type": requirement["material_type"],
                "mandatory": requirement["mandatory"],
                "reusable": requirement["reusable"],
                "validity_rule": requirement["validity_rule"],
                "decision": decision,
                "reason": reason,
                "explanation": _explanation(reason, material),
                "material": None if shown is None else viewer.item(MATERIAL_PATH, policy, shown),
            }
        )
    reused = sum(e["decision"] == "reuse" for e in entries)
    report = viewer.report()
    if entries:
        report["returned"] = sorted({*report["returned"], *DERIVED_PATHS})
    return {
        "requirements": entries,
        "counts": {"required": len(entries), "reuse": reused, "collect": len(entries) - reused},
    } | report
