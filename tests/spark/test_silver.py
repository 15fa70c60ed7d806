"""Conform and quarantine on tiny hand-made bronze frames."""

import hashlib
import hmac
import json

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.case_progress import secret_paths
from jobs.departments import load_mappings
from jobs.silver import (
    conform,
    parse_department,
    parsed_together,
    records_from,
    records_of,
    source_schema,
    split_by_rules,
    with_raw_records,
)
from quality.contracts import CONTRACTS_DIR, load_code_lists, load_contract
from quality.row_rules import (
    UNPARSED,
    VIOLATIONS,
    compile_row_rules,
    tag_violations,
)
from quality.spark_schema import spark_schema
from tests.spark.bronze_records import (
    BRONZE_SCHEMA,
    CASE_CODE_KEY,
    GOOD_FOOD_DRUG_RECORD,
    case_reference_data,
    food_drug_bronze,
)

pytestmark = pytest.mark.spark

GOOD = GOOD_FOOD_DRUG_RECORD


def test_bad_rows_are_quarantined_with_every_rule_they_break(spark: SparkSession) -> None:
    contract = load_contract("case")
    bad_id_and_channel = GOOD | {
        "caseNo": "SY2",
        "channel": "FAX",
        "applicant": GOOD["applicant"] | {"idNo": "110105194912310021"},
    }
    decided_before_received = GOOD | {"caseNo": "SY3", "decidedAt": "2026-10-01T09:00:00"}
    unparsable_time = GOOD | {"caseNo": "SY4", "receivedAt": "yesterday"}
    conformed = conform(
        food_drug_bronze(spark, [GOOD, bad_id_and_channel, decided_before_received, unparsable_time]),
        load_mappings()["food_drug"],
        contract,
        hash_key=CASE_CODE_KEY,
    )
    split = split_by_rules(
        conformed, compile_row_rules(contract, load_code_lists(), case_reference_data(spark)), contract
    )

    valid = split.valid.collect()
    assert [(r.case_id, r.subject_type, r.channel, r.status) for r in valid] == [
        ("SY1", "person", "window", "completed")
    ]
    bad = {r["_source_line"]: sorted(r["rule_ids"]) for r in split.quarantined.collect()}
    assert bad == {
        2: ["case.channel.code_list", "case.subject_id.valid_id"],
        3: ["case.decided_at.not_before_received"],
        4: ["case.received_at.required", "case.received_at.type"],
    }
    (line_2,) = split.quarantined.where("_source_line = 2").collect()
    assert "channel is not a code of list channel" in line_2["reasons"]
    assert json.loads(line_2["raw_record"])["channel"] == "FAX"  # the payload is kept as it came


def test_every_contract_compiles_to_row_rules_that_spark_can_plan(spark: SparkSession) -> None:
    contracts = {p.name.removesuffix(".odcs.yaml"): None for p in sorted(CONTRACTS_DIR.glob("*.odcs.yaml"))}
    tables = {name: spark.createDataFrame([], spark_schema(load_contract(name))) for name in contracts}
    for name, table in tables.items():
        contract = load_contract(name)
        rules = compile_row_rules(contract, load_code_lists(), tables)
        declared = {f"{contract.name}.{f.name}.{r.name}" for f in contract.fields for r in f.rules}
        declared |= {f"{contract.name}.{r.rule_field}.references" for r in contract.references}
        assert declared <= {r.rule_id for r in rules}
        # Planning the tagging query resolves every column the rules and their lookups read.
        tagged = tag_violations(table.withColumn(UNPARSED, F.array().cast("array<string>")), rules)
        assert tagged.columns == [*table.columns, UNPARSED, VIOLATIONS], name


def test_conformed_rows_have_the_contract_schema(spark: SparkSession) -> None:
    contract = load_contract("case")
    conformed = conform(
        food_drug_bronze(spark, [GOOD]), load_mappings()["food_drug"], contract, hash_key=CASE_CODE_KEY
    )
    types = [(f.name, f.dataType) for f in conformed.select(*contract.field_names).schema]
    assert types == [(f.name, f.dataType) for f in spark_schema(contract)]


def test_the_verification_code_is_kept_only_as_its_hmac(spark: SparkSession) -> None:
    """Spark's HMAC, built from two plain sha2 calls, equals Python's hmac module on the code as
    the applicant would type it (upper case, no hyphen), and the clear code is in no column."""
    lower_case_hyphenated = GOOD | {"caseNo": "SY2", "receipt": {"queryCode": " k7mq-3z9p "}}
    no_code = GOOD | {"caseNo": "SY3", "receipt": None}
    conformed = conform(
        food_drug_bronze(spark, [GOOD, lower_case_hyphenated, no_code]),
        load_mappings()["food_drug"],
        load_contract("case"),
        hash_key=CASE_CODE_KEY,
    )
    # Bronze's own text stays beside the conformed columns until the split drops it.
    rows = {r["case_id"]: r.asDict() for r in conformed.drop("record").collect()}
    expected = hmac.new(CASE_CODE_KEY, b"K7MQ3Z9P", hashlib.sha256).hexdigest()
    assert rows["SY1"]["verification_code_hmac"] == expected
    assert rows["SY2"]["verification_code_hmac"] == expected
    assert rows["SY3"]["verification_code_hmac"] is None
    assert not any("3z9p" in str(v).lower() for row in rows.values() for v in row.values())


def test_a_contract_with_a_keyed_hash_needs_the_key(spark: SparkSession) -> None:
    with pytest.raises(ValueError, match="needs the key"):
        conform(food_drug_bronze(spark, [GOOD]), load_mappings()["food_drug"], load_contract("case"))


def test_held_rows_get_their_raw_record_back_from_bronze(spark: SparkSession) -> None:
    """Parsed rows carry no text; the quarantine still shows each held row's record as it came: a
    case record whole, a material with the case record it came in."""
    mapping = load_mappings()["food_drug"]
    unknown_type = GOOD["materials"][0] | {"id": "SY2-02", "type": "fax_of_id"}
    second = GOOD | {"caseNo": "SY2", "channel": "FAX", "materials": [GOOD["materials"][0], unknown_type]}
    bronze = food_drug_bronze(spark, [GOOD, second])

    case = load_contract("case")
    case_rules = compile_row_rules(case, load_code_lists(), case_reference_data(spark))
    held_case = split_by_rules(
        conform(records_of(bronze, mapping, "case"), mapping, case, hash_key=CASE_CODE_KEY), case_rules, case
    )
    (case_row,) = with_raw_records(held_case.quarantined, bronze, {}, broadcast=False).collect()
    assert json.loads(case_row["raw_record"]) == second

    material = load_contract("material")
    cases = spark.createDataFrame(
        [("food_drug", "SY1"), ("food_drug", "SY2")], "department string, case_id string"
    )
    material_rules = compile_row_rules(material, load_code_lists(), {"case": cases})
    parsed = records_of(bronze, mapping, "material")
    assert parsed.count() == 3
    held = split_by_rules(
        conform(parsed, mapping.for_contract("material"), material), material_rules, material
    )
    (material_row,) = with_raw_records(
        held.quarantined, bronze, {"material": {"food_drug": "materials"}}, broadcast=True
    ).collect()
    assert material_row["rule_ids"] == ["material.material_type.code_list"]
    assert json.loads(material_row["raw_record"]) == {"parent": second, "element": unknown_type}
    assert (material_row["_source_line"], material_row["contract"]) == (2, "material")


def test_a_held_record_keeps_the_codes_hmac_not_the_code_and_a_replay_gets_the_same_hmac(
    spark: SparkSession,
) -> None:
    """The quarantine is past bronze: the code in a held case record's text, and in the parent of a
    held material, is replaced by its HMAC, which conforming the text again (a replay) keeps."""
    mappings = load_mappings()
    mapping = mappings["food_drug"]
    secrets = secret_paths(mappings)
    assert secrets["food_drug"] == "receipt.queryCode"
    assert secrets["market_regulation"] == "查询码"
    unknown_type = GOOD["materials"][0] | {"id": "SY2-02", "type": "fax_of_id"}
    held_record = GOOD | {"caseNo": "SY2", "channel": "FAX", "materials": [unknown_type]}
    bronze = food_drug_bronze(spark, [GOOD, held_record])
    expected = hmac.new(CASE_CODE_KEY, b"K7MQ3Z9P", hashlib.sha256).hexdigest()

    case = load_contract("case")
    case_rules = compile_row_rules(case, load_code_lists(), case_reference_data(spark))
    held_case = split_by_rules(
        conform(records_of(bronze, mapping, "case"), mapping, case, hash_key=CASE_CODE_KEY), case_rules, case
    )
    (case_row,) = with_raw_records(
        held_case.quarantined, bronze, {}, broadcast=False, secrets=secrets, hash_key=CASE_CODE_KEY
    ).collect()
    assert json.loads(case_row["raw_record"]) == held_record | {"receipt": {"queryCode": f"hmac:{expected}"}}

    material = load_contract("material")
    cases = spark.createDataFrame(
        [("food_drug", "SY1"), ("food_drug", "SY2")], "department string, case_id string"
    )
    held_material = split_by_rules(
        conform(records_of(bronze, mapping, "material"), mapping.for_contract("material"), material),
        compile_row_rules(material, load_code_lists(), {"case": cases}),
        material,
    )
    (material_row,) = with_raw_records(
        held_material.quarantined,
        bronze,
        {"material": {"food_drug": "materials"}},
        broadcast=True,
        secrets=secrets,
        hash_key=CASE_CODE_KEY,
    ).collect()
    assert "3z9p" not in material_row["raw_record"].lower()
    assert json.loads(material_row["raw_record"])["parent"]["receipt"] == {"queryCode": f"hmac:{expected}"}

    # A replay conforms the held text: the HMAC comes back as it was, not hashed again.
    replayed = spark.createDataFrame(
        [("food_drug", "b1", case_row["raw_record"], "file:///x.jsonl", 2)], BRONZE_SCHEMA
    )
    (again,) = conform(replayed, mapping, case, hash_key=CASE_CODE_KEY).collect()
    assert again["verification_code_hmac"] == expected


def test_a_path_mapped_as_a_value_and_as_an_object_is_refused() -> None:
    assert source_schema(["applicant.idNo", "caseNo"]).simpleString() == (
        "struct<applicant:struct<idNo:string>,caseNo:string>"
    )
    with pytest.raises(ValueError, match="applicant"):
        source_schema(["applicant.idNo", "applicant"])
    with pytest.raises(ValueError, match="applicant"):
        source_schema(["applicant", "applicant.idNo"])


ODD_FOOD_DRUG_RECORDS = [
    GOOD,
    # A struct path that meets a value that is no object: its fields are null, the others stay.
    GOOD | {"caseNo": "SY2", "item": "SYJ-0202-01", "receipt": ["k7mq"], "applicant": [GOOD["applicant"]]},
    GOOD
    | {
        "caseNo": 3,
        "materials": GOOD["materials"][0],
        "events": "not json",
        "licence": {},
        "deliveries": [],
        "evaluation": {"id": "E3", "score": 1.50, "at": "2026-11-03T10:00:00"},
    },
    {"caseNo": "SY4", "applicant": "a name, not a record", "events": [{"id": "E4", "fee": 12.0}, None]},
]


def test_records_parsed_once_for_every_contract_conform_as_each_contract_parsed_alone(
    spark: SparkSession,
) -> None:
    mapping = load_mappings()["food_drug"]
    # The subject is food_drug's applicant, which the case reads fields of: it is parsed alone.
    assert "subject" not in parsed_together(mapping)
    texts = [json.dumps(r, ensure_ascii=False) for r in ODD_FOOD_DRUG_RECORDS] + ['{"caseNo": "SY5", broken']
    bronze = spark.createDataFrame(
        [("food_drug", "b1", t, "file:///x.jsonl", i + 1) for i, t in enumerate(texts)], BRONZE_SCHEMA
    )
    parsed = parse_department(bronze, mapping)
    for name in [mapping.contract, *mapping.nested]:
        contract = load_contract(name)
        for_contract = mapping.for_contract(name)

        def rows(records: DataFrame) -> list[tuple[object, ...]]:
            conformed = conform(records, for_contract, contract, hash_key=CASE_CODE_KEY)  # noqa: B023
            return sorted((tuple(r) for r in conformed.collect()), key=repr)

        once = rows(records_from(parsed, bronze, mapping, name))
        assert once == rows(records_of(bronze, mapping, name)), name
        assert once or name in {"certificate", "courier_delivery"}, name
