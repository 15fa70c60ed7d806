"""Great Expectations adapter: a contract becomes a GX suite, which gates a whole batch.

Row rules (quality/row_rules.py) decide which rows are quarantined in one Spark pass; this suite
is the batch-level gate on what reached silver, and the source of the Data Docs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_suite import ExpectationSuite
from great_expectations.data_context.types.base import ProgressBarsConfig
from pyspark.sql import DataFrame

from quality.contracts import Contract


@dataclass(frozen=True)
class SuiteSpec:
    """A suite as plain data; GX binds suites to a context, so it is built inside `validate`."""

    name: str
    expectations: list[gx.expectations.Expectation]


def compile_suite(contract: Contract, code_lists: dict[str, frozenset[str]]) -> SuiteSpec:
    expectations: list[gx.expectations.Expectation] = [
        gx.expectations.ExpectTableColumnsToMatchSet(
            column_set=contract.field_names,
            exact_match=False,
        )
    ]
    keys = [f.name for f in contract.fields if f.primary_key]
    for f in contract.fields:
        if f.required:
            expectations.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=f.name))
        if f.code_list:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=f.name,
                    value_set=sorted(code_lists[f.code_list]),
                )
            )
    if keys:
        expectations.append(gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=keys))
    return SuiteSpec(f"{contract.name}-{contract.version}", expectations)


@dataclass(frozen=True)
class GateResult:
    suite: str
    success: bool
    evaluated: int
    failed_expectations: list[str]
    raw: dict[str, Any]


def validate(df: DataFrame, spec: SuiteSpec, asset_name: str) -> GateResult:
    context = gx.get_context(mode="ephemeral")
    # Pipeline logs are read by people; a per-metric progress bar in them is noise.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # GX binds each expectation to the suite it joins; copies keep the spec reusable.
    suite = context.suites.add(
        ExpectationSuite(name=spec.name, expectations=[copy.copy(e) for e in spec.expectations])
    )
    source = context.data_sources.add_spark(name="hub")
    batch_definition = source.add_dataframe_asset(name=asset_name).add_batch_definition_whole_dataframe(
        "whole"
    )
    result = batch_definition.get_batch(batch_parameters={"dataframe": df}).validate(suite)
    failed = [
        f"{config.type}({config.kwargs.get('column', '')})"
        for r in result.results
        if not r.success and (config := r.expectation_config) is not None
    ]
    return GateResult(suite.name, bool(result.success), len(result.results), failed, result.to_json_dict())  # type: ignore[no-untyped-call]
