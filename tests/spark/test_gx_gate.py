import datetime as dt

import pytest
from pyspark.sql import SparkSession

from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.simulator import write_catalogue
from hub.storage import read_table_rows, table_uri
from jobs import pipeline, silver
from quality.contracts import load_code_lists, load_contract
from quality.gx_suite import compile_suite, validate
from quality.spark_schema import spark_schema

pytestmark = pytest.mark.spark

SCHEMA = (
    "case_id string, department string, subject_id string, subject_type string, subject_name string, "
    "item_code string, item_name string, channel string, status string, received_at timestamp, "
    "decided_at timestamp, promised_deadline date, handling_tier string, updated_at timestamp, "
    "verification_code_hmac string"
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
    "0" * 64,
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


# The target's keys broadcast to every task, both sides shuffled, or the batch's keys sent to the
# target's scan: the same verdicts.
@pytest.mark.parametrize(
    ("broadcast", "small_batch"),
    [(frozenset(), False), (frozenset({"case"}), False), (frozenset(), True)],
    ids=["shuffled", "broadcast", "small batch"],
)
def test_suite_fails_a_batch_whose_references_do_not_resolve(
    spark: SparkSession, broadcast: frozenset[str], small_batch: bool
) -> None:
    spark.createDataFrame(
        [("food_drug", "SY1")], "department string, case_id string"
    ).createOrReplaceTempView("gate_cases")
    contract = load_contract("material")
    suite = compile_suite(
        contract, load_code_lists(), {"case": "gate_cases"}, broadcast=broadcast, small_batch=small_batch
    )
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


def test_a_gate_after_a_passed_one_checks_only_the_rows_that_changed(
    hub_settings: Settings, spark: SparkSession, tmp_path
) -> None:
    settings = hub_settings.model_copy(update={"home": tmp_path})
    write_catalogue(settings, dt.datetime(2026, 11, 1, tzinfo=DISTRICT_TIMEZONE))
    pipeline.publish_catalogue(settings)
    uri = table_uri(settings, "silver", "case")
    case_suite = f"case-{load_contract('case').version}"

    def upsert(*rows: tuple[object, ...]) -> None:
        silver.upsert(
            spark, spark.createDataFrame(list(rows), SCHEMA), uri, ["department", "case_id"], "updated_at"
        )

    def gate_rows() -> list[tuple[str, str, int]]:
        results = read_table_rows(settings, "quality", "gate_results")
        return [(r["suite"], r["scope"], r["rows"]) for r in sorted(results, key=lambda r: r["validated_at"])]

    later = dt.datetime(2026, 11, 2, 9)
    upsert(GOOD, ("SY2", *GOOD[1:]), ("SY3", *GOOD[1:]))
    assert pipeline.validate_silver(settings)["scopes"] == {case_suite: "whole"}
    # One case updated, one new: two rows gated, not three.
    upsert((*GOOD[:8], "completed", *GOOD[9:13], later, *GOOD[14:]), ("SY4", *GOOD[1:]))
    assert pipeline.validate_silver(settings)["scopes"] == {case_suite: "changes"}
    assert pipeline.validate_silver(settings)["suites"] == []  # nothing changed, nothing gated
    assert gate_rows() == [(case_suite, "whole", 3), (case_suite, "changes", 2)]

    # A bad row in the changes fails the gate; after the fix, the rows since the last gate that
    # passed are checked again, the fixed row among them.
    upsert(("SY5", *GOOD[1:7], "fax", *GOOD[8:]))
    with pytest.raises(pipeline.QualityGateError, match="expect_column_values_to_be_in_set"):
        pipeline.validate_silver(settings)
    upsert(("SY5", *GOOD[1:13], later, *GOOD[14:]), ("SY6", *GOOD[1:]))
    assert pipeline.validate_silver(settings)["scopes"] == {case_suite: "changes"}
    assert gate_rows()[2:] == [(case_suite, "changes", 1), (case_suite, "changes", 2)]
