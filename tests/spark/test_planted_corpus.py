"""A planted corpus: at least three bad rows for every rule the case contract compiles to."""

import json
from collections import Counter
from typing import Any

import pytest
from pyspark.sql import SparkSession

from jobs.departments import load_mappings
from jobs.silver import conform, nested_records, split_by_rules
from quality.contracts import load_code_lists, load_contract
from quality.row_rules import MissingReferenceDataError, compile_row_rules
from tests.spark.bronze_records import (
    CASE_CODE_KEY,
    GOOD_FOOD_DRUG_RECORD,
    case_reference_data,
    food_drug_bronze,
)

pytestmark = pytest.mark.spark

GOOD = GOOD_FOOD_DRUG_RECORD | {"caseNo": "SY0"}


def planted(n: int, **changes: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        row = json.loads(json.dumps(GOOD))
        for path, value in changes.items():
            target = row
            *parents, leaf = path.split("__")
            for p in parents:
                target = target[p]
            if value is None:
                target.pop(leaf, None)
            else:
                target[leaf] = value(i) if callable(value) else value
                if target[leaf] is None:
                    del target[leaf]
        rows.append(row)
    return rows


# Rule id -> bad rows that break exactly that rule (plus, where unavoidable, the rules named).
CORPUS: dict[str, list[dict[str, Any]]] = {
    "case.case_id.required": planted(3, caseNo=None),
    "case.subject_id.required": planted(3, applicant__idNo=None),
    "case.subject_type.required": planted(3, applicant__kind=None),
    "case.subject_name.required": planted(3, applicant__name=lambda i: " " * i),
    "case.item_code.required": planted(3, item__code=None),
    "case.channel.required": planted(3, channel=None),
    "case.status.required": planted(3, state=""),
    "case.received_at.required": planted(3, receivedAt=lambda i: [None, "", "  "][i]),
    "case.received_at.type": planted(3, receivedAt=lambda i: ["yesterday", "2026-02-30T09:00:00", "9am"][i]),
    "case.decided_at.type": planted(3, decidedAt=lambda i: ["soon", "2026-13-01T00:00:00", "x"][i]),
    "case.subject_type.code_list": planted(3, applicant__kind=lambda i: ["Q", "X", "个人"][i]),
    "case.channel.code_list": planted(3, channel=lambda i: ["FAX", "POST", "PHONE"][i]),
    "case.status.code_list": planted(3, state=lambda i: ["LOST", "?", "PENDING"][i]),
    "case.subject_id.valid_id": planted(
        3, applicant__idNo=lambda i: ["110105194912310021", "440106202302300011", "91350100M000100Y44"][i]
    ),
    "case.received_at.not_in_future": planted(
        3, receivedAt=lambda i: f"209{i}-01-01T09:00:00", decidedAt=None
    ),
    "case.decided_at.not_in_future": planted(3, decidedAt=lambda i: f"209{i}-01-01T09:00:00"),
    "case.decided_at.not_before_received": planted(3, decidedAt=lambda i: f"2026-10-0{i + 1}T09:00:00"),
    "case.promised_deadline.type": planted(
        3, deadline=lambda i: ["next week", "2026-02-30", "2026/11/04"][i]
    ),
    "case.handling_tier.code_list": planted(3, item__tier=lambda i: ["CITY", "PROVINCE", "街道"][i]),
    "case.updated_at.required": planted(3, updatedAt=lambda i: [None, "", " "][i]),
    "case.updated_at.type": planted(3, updatedAt=lambda i: ["now", "2026-11-31T00:00:00", "1700000000"][i]),
    "case.item_code.references": planted(
        3, item__code=lambda i: ["SYJ-9999-01", "syj-0202-01", "SCJG-0101"][i]
    ),
    # Counted in calendar days, from the receipt day, or across National Day (due 12 October).
    "case.promised_deadline.matches_promised_days": planted(
        3,
        receivedAt=lambda i: ["2026-11-01T09:00:00", "2026-11-02T09:00:00", "2026-10-01T09:00:00"][i],
        decidedAt=lambda i: ["2026-11-03T09:00:00", "2026-11-03T09:00:00", "2026-10-09T09:00:00"][i],
        deadline=lambda i: ["2026-11-04", "2026-11-04", "2026-10-06"][i],
    ),
    "case.updated_at.not_in_future": planted(3, updatedAt=lambda i: f"209{i}-01-01T09:00:00"),
}
# A value that fails to parse is also missing: both rules fire, and both are reported.
ALSO_FIRES = {
    "case.received_at.type": {"case.received_at.required"},
    "case.updated_at.type": {"case.updated_at.required"},
}
# `department` is set from the department registry, never read from a source, so no source row
# can break its required or code-list rule.
UNREACHABLE = {"case.department.required", "case.department.code_list"}


def test_every_rule_catches_its_planted_rows(spark: SparkSession) -> None:
    contract = load_contract("case")
    rules = compile_row_rules(contract, load_code_lists(), case_reference_data(spark))
    assert {r.rule_id for r in rules} - UNREACHABLE == set(CORPUS), "every rule has a planted corpus"

    records = [(rule_id, row) for rule_id, rows in CORPUS.items() for row in rows] + [("", GOOD)] * 5
    bronze = food_drug_bronze(
        spark, [row for _, row in records], [f"file:///{rule_id or 'good'}" for rule_id, _ in records]
    )
    split = split_by_rules(
        conform(bronze, load_mappings()["food_drug"], contract, hash_key=CASE_CODE_KEY), rules, contract
    )

    caught = {int(r["_source_line"]): set(r["rule_ids"]) for r in split.quarantined.collect()}
    for line, (rule_id, _) in enumerate(records, start=1):
        expected = {rule_id} | ALSO_FIRES.get(rule_id, set()) if rule_id else set()
        assert caught.get(line, set()) == expected, f"line {line} planted for {rule_id or 'nothing'}"
    assert split.valid.count() + split.quarantined.count() == bronze.count()
    per_rule = Counter(rule for rules_hit in caught.values() for rule in rules_hit)
    assert all(per_rule[rule_id] >= 3 for rule_id in CORPUS)


def test_missing_reference_data_is_an_error_not_a_skipped_rule(spark: SparkSession) -> None:
    contract, code_lists = load_contract("case"), load_code_lists()
    with pytest.raises(MissingReferenceDataError, match="needs approval_item, which was not given"):
        compile_row_rules(contract, code_lists)


def material_rows(element: dict[str, list[Any]] | None = None, **parent: list[Any]) -> list[dict[str, Any]]:
    """Three food and drug records, each carrying one material with the i-th planted value of each
    element field (None removes it) and of each parent field (a__b is the path a.b)."""
    rows = []
    for i in range(3):
        row = json.loads(json.dumps(GOOD))
        material = row["materials"][0]
        for key, values in (element or {}).items():
            material[key] = values[i]
        for path, values in parent.items():
            *parents, leaf = path.split("__")
            target = row
            for p in parents:
                target = target[p]
            target[leaf] = values[i]
        rows.append(row)
    return rows


BLANK = [None, "", "  "]
FUTURE = [f"209{i}-01-01T09:00:00" for i in range(3)]
MATERIAL_CORPUS: dict[str, list[dict[str, Any]]] = {
    "material.material_id.required": material_rows({"id": BLANK}),
    "material.case_id.required": material_rows(caseNo=BLANK),
    "material.subject_id.required": material_rows(applicant__idNo=BLANK),
    "material.subject_id.valid_id": material_rows(
        applicant__idNo=["110105194912310021", "440106202302300011", "91350100M000100Y44"]
    ),
    "material.material_type.required": material_rows({"type": BLANK}),
    "material.material_type.code_list": material_rows({"type": ["passport", "身份证", "ID_CARD"]}),
    "material.file_object_key.required": material_rows({"file": BLANK}),
    "material.sha256.required": material_rows({"sha256": BLANK}),
    "material.issued_by_department.code_list": material_rows({"issuer": ["GAJ", "XX", "market"]}),
    "material.accepted.required": material_rows({"accepted": BLANK}),
    "material.accepted.type": material_rows({"accepted": ["maybe", "通过", "2"]}),
    "material.submitted_at.required": material_rows(receivedAt=BLANK),
    "material.submitted_at.type": material_rows(receivedAt=["yesterday", "2026-02-30T09:00:00", "9am"]),
    "material.submitted_at.not_in_future": material_rows(
        receivedAt=[f"209{i}-01-01T09:00:00" for i in range(3)]
    ),
    "material.valid_until.type": material_rows({"validUntil": ["never", "2026-02-30", "2030/01/01"]}),
    "material.case_id.references": material_rows(caseNo=["SY404", "sy0", "SY00"]),
}
MATERIAL_ALSO_FIRES = {
    "material.accepted.type": {"material.accepted.required"},
    "material.submitted_at.type": {"material.submitted_at.required"},
}
MATERIAL_UNREACHABLE = {"material.department.required", "material.department.code_list"}


def test_every_material_rule_catches_its_planted_rows(spark: SparkSession) -> None:
    contract = load_contract("material")
    cases = spark.createDataFrame([("food_drug", "SY0")], "department string, case_id string")
    rules = compile_row_rules(contract, load_code_lists(), {"case": cases})
    assert {r.rule_id for r in rules} - MATERIAL_UNREACHABLE == set(MATERIAL_CORPUS), (
        "a corpus for every rule"
    )

    # One record whose material list is not a list at all: its material is held, not dropped.
    broken_list = json.loads(json.dumps(GOOD)) | {"materials": "see attachment"}
    records = [(rule_id, row) for rule_id, rows in MATERIAL_CORPUS.items() for row in rows]
    records += [("", GOOD)] * 5 + [("broken list", broken_list)]
    bronze = food_drug_bronze(spark, [row for _, row in records])
    mapping = load_mappings()["food_drug"]
    materials = nested_records(bronze, mapping.nested["material"])
    split = split_by_rules(conform(materials, mapping.for_contract("material"), contract), rules, contract)

    caught = {int(r["_source_line"]): set(r["rule_ids"]) for r in split.quarantined.collect()}
    for line, (rule_id, _) in enumerate(records, start=1):
        if rule_id == "broken list":
            assert "material.material_id.required" in caught[line]
            continue
        expected = {rule_id} | MATERIAL_ALSO_FIRES.get(rule_id, set()) if rule_id else set()
        assert caught.get(line, set()) == expected, f"line {line} planted for {rule_id or 'nothing'}"
    assert split.valid.count() + split.quarantined.count() == materials.count() == len(records)
    (good,) = split.valid.where(f"_source_line = {len(records) - 1}").collect()
    assert (good["department"], good["case_id"], good["accepted"]) == ("food_drug", "SY0", True)
