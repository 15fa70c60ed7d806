import datetime as dt

import pytest
from pyspark.sql import SparkSession

from quality.contracts import load_code_lists, load_contract
from quality.gx_suite import compile_suite, validate
from quality.spark_schema import spark_schema

pytestmark = pytest.mark.spark

SCHEMA = (
    "case_id string, department string, subject_id string, subject_type string, subject_name string, "
    "item_code string, item_name string, channel string, status string, received_at timestamp, "
    "decided_at timestamp, promised_deadline date, handling_tier string, updated_at timestamp"
)
GOOD = (
    "SY1",
    "food_drug",
    "11010519491231002X",
    "person",
    "陈伟",
    "SYJ-0202-01",
    "小餐饮登记",
    "window",
    "completed",
    dt.datetime(2026, 11, 1, 9),
    None,
    dt.date(2026, 11, 4),
    "street",
    dt.datetime(2026, 11, 1, 9),
)


def test_suite_passes_clean_batch_and_fails_on_planted_bad_row(spark: SparkSession) -> None:
    spark.createDataFrame([("SYJ-0202-01",)], "item_code string").createOrReplaceTempView("gate_items")
    suite = compile_suite(load_contract("case"), load_code_lists(), {"approval_item": "gate_items"})
    clean = spark.createDataFrame([GOOD, (*GOOD[:1], "market_regulation", *GOOD[2:])], SCHEMA)
    assert validate(clean, suite, "case").success

    planted = ("SY2", *GOOD[1:7], "fax", *GOOD[8:])  # a channel outside the code list
    gate = validate(spark.createDataFrame([GOOD, planted], SCHEMA), suite, "case")
    assert not gate.success
    assert gate.failed_expectations == ["expect_column_values_to_be_in_set(channel)"]


def test_suite_fails_a_batch_whose_references_do_not_resolve(spark: SparkSession) -> None:
    spark.createDataFrame(
        [("food_drug", "SY1")], "department string, case_id string"
    ).createOrReplaceTempView("gate_cases")
    contract = load_contract("material")
    suite = compile_suite(contract, load_code_lists(), {"case": "gate_cases"})
    material = {
        "department": "food_drug",
        "material_id": "SY1-01",
        "case_id": "SY1",
        "subject_id": "11010519491231002X",
        "material_type": "id_card_copy",
        "file_object_key": "materials/5e/5e1f.pdf",
        "sha256": "5e1f" * 16,
        "issued_by_department": None,
        "accepted": True,
        "submitted_at": dt.datetime(2026, 11, 1, 9),
        "valid_until": None,
    }
    schema = spark_schema(contract)
    assert validate(spark.createDataFrame([material], schema), suite, "material").success

    orphan = material | {"material_id": "SY9-01", "case_id": "SY9"}
    gate = validate(spark.createDataFrame([material, orphan], schema), suite, "material")
    assert gate.failed_expectations == [
        "unexpected_rows_expectation((department, case_id) exists in case.(department, case_id))"
    ]
