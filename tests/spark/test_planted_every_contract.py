"""A planted corpus for every rule of every contract, built from the contract itself.

The department-level corpora (test_planted_corpus.py) go through a department's mapping for the
datasets that flow today; this one checks that every rule any contract compiles to catches three
rows that break it and lets a valid row through, whatever the dataset.
"""

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.types import ArrayType, IntegerType, StringType, StructField, StructType

from hub.simulator.world import credit_code
from quality.contracts import CONTRACTS_DIR, Contract, Field, load_code_lists, load_contract
from quality.row_rules import UNPARSED, compile_row_rules, tag_violations
from quality.spark_schema import spark_schema

pytestmark = pytest.mark.spark

CONTRACT_NAMES = sorted(p.name.removesuffix(".odcs.yaml") for p in CONTRACTS_DIR.glob("*.odcs.yaml"))
RECEIVED = dt.datetime(2026, 11, 2, 10, 0)  # a Monday
ITEM_PROMISED_DAYS = 3  # so the promised deadline is Thursday 5 November
CREDIT_CODE = credit_code(random.Random(1))
BAD_IDS = ["110105194912310021", "440106202302300011", "91350100M000100Y44"]


def good_value(contract: Contract, f: Field, code_lists: dict[str, frozenset[str]]) -> Any:
    kinds = {r.kind for r in f.rules}
    if f.code_list:
        return sorted(code_lists[f.code_list])[0]
    if "working_day_deadline" in kinds:
        return dt.date(2026, 11, 5)
    if kinds & {"subject_id", "resident_id"}:
        return "11010519491231002X"
    if "credit_code" in kinds:
        return CREDIT_CODE
    if "mobile_phone" in kinds:
        return "13800138000"
    value = {
        "timestamp": RECEIVED,
        "date": RECEIVED.date(),
        "integer": ITEM_PROMISED_DAYS,
        "long": ITEM_PROMISED_DAYS,
        "double": 1.0,
        "boolean": True,
    }.get(f.physical_type)
    if value is None and f.physical_type.startswith("decimal"):
        value = Decimal("1.00")
    return "K1" if value is None else value


def earlier(value: Any, i: int) -> Any:
    return value - (dt.timedelta(days=i + 1) if isinstance(value, dt.date | dt.datetime) else i + 1)


FIXED_BAD_VALUES: dict[str, list[Any]] = {
    "required": [None] * 3,
    "type": [None] * 3,  # with the field listed in _unparsed, as conform leaves it
    "code_list": ["??1", "??2", "??3"],
    "references": ["missing-1", "missing-2", "missing-3"],
    "subject_id": BAD_IDS,
    "resident_id": BAD_IDS,
    "credit_code": ["91350100M000100Y44", "9135010", "X" * 18],
    "mobile_phone": ["12345", "23800138000", "1380013800a"],
}


def bad_values(f: Field, rule_kind: str, good: Any) -> list[Any]:
    if rule_kind in FIXED_BAD_VALUES:
        return FIXED_BAD_VALUES[rule_kind]
    if rule_kind == "not_in_future":
        return [dt.date(2090, 1, 1) if f.physical_type == "date" else dt.datetime(2090, 1, 1)] * 3
    if rule_kind == "not_before":
        return [earlier(good, i) for i in range(3)]
    if rule_kind == "working_day_deadline":
        return [good + dt.timedelta(days=d) for d in (-1, 1, 2)]
    raise AssertionError(f"no planted values for rule kind {rule_kind}")


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_every_rule_of_the_contract_catches_its_planted_rows(spark: SparkSession, name: str) -> None:
    contract, code_lists = load_contract(name), load_code_lists()
    good = {f.name: good_value(contract, f, code_lists) for f in contract.fields}
    for f in contract.fields:  # an "at or after" rule is met by an equal value
        for spec in f.rules:
            if spec.kind == "not_before":
                good[f.name] = good[str(spec.argument)]
    reference_data = {
        ref.target: spark.createDataFrame(
            [tuple(good[c] for c in ref.columns)], ", ".join(f"{c} string" for c in ref.target_columns)
        )
        for ref in contract.references
    }
    if any(spec.kind == "working_day_deadline" for f in contract.fields for spec in f.rules):
        reference_data["approval_item"] = spark.createDataFrame(
            [(good["item_code"], ITEM_PROMISED_DAYS)], "item_code string, promised_days int"
        )
    rules = compile_row_rules(contract, code_lists, reference_data)

    planted: list[tuple[str, dict[str, Any], list[str]]] = [("", good, [])] * 3
    for rule in rules:
        field, kind = contract.field(rule.field), rule.rule_id.rsplit(".", 1)[1]
        spec_kind = next((s.kind for s in field.rules if s.name == kind), kind)
        if rule.rule_id.endswith(".references"):
            spec_kind = "references"
        for value in bad_values(field, spec_kind, good[field.name]):
            planted.append((rule.rule_id, good | {field.name: value}, [field.name] if kind == "type" else []))

    extra = [StructField(UNPARSED, ArrayType(StringType())), StructField("_row", IntegerType())]
    schema = StructType([*spark_schema(contract).fields, *extra])
    rows = [
        (*[row[f.name] for f in contract.fields], unparsed, i) for i, (_, row, unparsed) in enumerate(planted)
    ]
    # A reference checked by a join may reorder rows: put them back in planted order.
    tagged = sorted(
        tag_violations(spark.createDataFrame(rows, schema), rules).collect(), key=lambda r: r["_row"]
    )

    assert len(tagged) == len(planted)
    caught: dict[str, int] = {}
    for (rule_id, _, _), row in zip(planted, tagged, strict=True):
        if not rule_id:
            assert row["_violations"] == [], f"{name}: a valid row was flagged {row['_violations']}"
            continue
        assert rule_id in row["_violations"], f"{name}: {rule_id} missed {row.asDict()}"
        caught[rule_id] = caught.get(rule_id, 0) + 1
    assert caught == {r.rule_id: 3 for r in rules}
