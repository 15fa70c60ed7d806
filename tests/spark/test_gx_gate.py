import datetime as dt

import pytest
from pyspark.sql import SparkSession

from quality.contracts import load_code_lists, load_contract
from quality.gx_suite import compile_suite, validate

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
    suite = compile_suite(load_contract("case"), load_code_lists())
    clean = spark.createDataFrame([GOOD, (*GOOD[:1], "market_regulation", *GOOD[2:])], SCHEMA)
    assert validate(clean, suite, "case").success

    planted = ("SY2", *GOOD[1:7], "fax", *GOOD[8:])  # a channel outside the code list
    gate = validate(spark.createDataFrame([GOOD, planted], SCHEMA), suite, "case")
    assert not gate.success
    assert gate.failed_expectations == ["expect_column_values_to_be_in_set(channel)"]
