"""Every contract compiles to a Spark schema and a GX suite, field for field."""

import pytest

from quality.contracts import CONTRACTS_DIR, load_code_lists, load_contract
from quality.gx_suite import MissingReferenceTableError, SuiteSpec, compile_suite
from quality.spark_schema import spark_schema

pytestmark = pytest.mark.unit

CONTRACT_NAMES = sorted(p.name.removesuffix(".odcs.yaml") for p in CONTRACTS_DIR.glob("*.odcs.yaml"))


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_contract_compiles_to_spark_schema(name: str) -> None:
    contract = load_contract(name)
    schema = spark_schema(contract)
    assert schema.fieldNames() == contract.field_names


def columns_checked_by(suite: SuiteSpec, expectation_type: str) -> set[str]:
    return {
        e.configuration.kwargs["column"] for e in suite.expectations if e.expectation_type == expectation_type
    }


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_contract_compiles_to_gx_suite(name: str) -> None:
    contract = load_contract(name)
    tables = {r.target: f"{r.target}_table" for r in contract.references}
    suite = compile_suite(contract, load_code_lists(), tables)
    required = {f.name for f in contract.fields if f.required}
    assert columns_checked_by(suite, "expect_column_values_to_not_be_null") == required
    coded = {f.name for f in contract.fields if f.code_list}
    assert columns_checked_by(suite, "expect_column_values_to_be_in_set") == coded
    queries = [
        e.configuration.kwargs["unexpected_rows_query"]
        for e in suite.expectations
        if e.expectation_type == "unexpected_rows_expectation"
    ]
    assert len(queries) == len(contract.references)
    assert all("LEFT ANTI JOIN" in q for q in queries)


@pytest.mark.parametrize("broadcast", [frozenset(), frozenset({"case"})], ids=["shuffled", "broadcast"])
def test_a_reference_named_for_broadcast_is_hinted(broadcast: frozenset[str]) -> None:
    suite = compile_suite(load_contract("case_event"), load_code_lists(), {"case": "case_table"}, broadcast)
    (query,) = [
        e.configuration.kwargs["unexpected_rows_query"]
        for e in suite.expectations
        if e.expectation_type == "unexpected_rows_expectation"
    ]
    assert ("SELECT /*+ BROADCAST(t) */ b.*" in query) == bool(broadcast)
    assert "LEFT ANTI JOIN case_table t" in query


def test_a_small_batch_sends_its_keys_to_the_targets_scan() -> None:
    suite = compile_suite(
        load_contract("case_event"), load_code_lists(), {"case": "case_table"}, small_batch=True
    )
    (query,) = [
        e.configuration.kwargs["unexpected_rows_query"]
        for e in suite.expectations
        if e.expectation_type == "unexpected_rows_expectation"
    ]
    assert query == (
        "SELECT /*+ BROADCAST(t) */ b.* FROM {batch} b LEFT ANTI JOIN "
        "(SELECT /*+ BROADCAST(k) */ t.department, t.case_id FROM case_table t "
        "LEFT SEMI JOIN (SELECT DISTINCT department, case_id FROM {batch}) k "
        "ON t.department = k.department AND t.case_id = k.case_id) t "
        "ON b.department = t.department AND b.case_id = t.case_id "
        "WHERE b.department IS NOT NULL AND b.case_id IS NOT NULL"
    )


def test_a_reference_without_its_table_is_an_error() -> None:
    with pytest.raises(MissingReferenceTableError, match="references approval_item"):
        compile_suite(load_contract("case"), load_code_lists())


def test_decimal_types_keep_precision() -> None:
    schema = spark_schema(load_contract("approval_item"))
    assert schema["fee_standard"].dataType.simpleString() == "decimal(12,2)"


def test_gold_ranks_exactly_the_risk_tiers_of_the_code_list() -> None:
    # A tier missing from the ranking would drop out of a subject's highest tier.
    from jobs.gold import RISK_TIERS

    assert sorted(RISK_TIERS) == sorted(load_code_lists()["risk_tier"])
