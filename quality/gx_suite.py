"""Great Expectations adapter: a contract becomes a GX suite, which gates a whole batch.

Row rules (quality/row_rules.py) decide which rows are quarantined in one Spark pass; this suite
is the batch-level gate on what reached silver, and the source of the Data Docs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import great_expectations as gx
from great_expectations.core.expectation_suite import ExpectationSuite
from great_expectations.core.result_format import ResultFormat
from great_expectations.data_context.types.base import ProgressBarsConfig
from pyspark.sql import DataFrame

from quality.contracts import Contract, Reference

DOCS_SITE = "hub"


@dataclass(frozen=True)
class SuiteSpec:
    """A suite as plain data; GX binds suites to a context, so it is built inside `validate`."""

    name: str
    expectations: list[gx.expectations.Expectation]


class MissingReferenceTableError(ValueError):
    """The contract references a dataset whose table the caller did not name."""


def _reference_expectation(
    ref: Reference, table: str, broadcast: bool, small_batch: bool
) -> gx.expectations.Expectation:
    """Rows whose reference does not resolve in `table` (a Spark SQL table name, such as
    delta.`<uri>`), checked over the whole batch with an anti join. With `broadcast`, the target's
    keys are sent to every task rather than both sides shuffled (as `quality.row_rules` does). With
    `small_batch`, the target's rows holding the batch's keys are found first, the batch's keys
    sent to the target's scan, so neither side of the anti join is large: a day's changes checked
    against a table of millions no longer ship the millions' keys to every task."""
    matches = " AND ".join(f"b.{c} = t.{t}" for c, t in zip(ref.columns, ref.target_columns, strict=True))
    present = " AND ".join(f"b.{c} IS NOT NULL" for c in ref.columns)
    target = table
    if small_batch:
        keys = ", ".join(ref.columns)
        on_keys = " AND ".join(f"t.{t} = k.{c}" for c, t in zip(ref.columns, ref.target_columns, strict=True))
        held = ", ".join(f"t.{t}" for t in ref.target_columns)
        target = (
            f"(SELECT /*+ BROADCAST(k) */ {held} FROM {table} t "
            f"LEFT SEMI JOIN (SELECT DISTINCT {keys} FROM {{batch}}) k ON {on_keys})"
        )
    hint = "/*+ BROADCAST(t) */ " if broadcast or small_batch else ""
    query = f"SELECT {hint}b.* FROM {{batch}} b LEFT ANTI JOIN {target} t ON {matches} WHERE {present}"
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=query,
        description=f"({', '.join(ref.columns)}) exists in {ref.target}.({', '.join(ref.target_columns)})",
    )


def compile_suite(
    contract: Contract,
    code_lists: dict[str, frozenset[str]],
    reference_tables: Mapping[str, str] | None = None,
    broadcast: frozenset[str] = frozenset(),
    *,
    small_batch: bool = False,
) -> SuiteSpec:
    """The contract's batch-level suite. `reference_tables` names, for each contract this one
    references, the Spark SQL table holding it (such as delta.`<uri>`); the keys of those in
    `broadcast` are few enough to send to every task. A `small_batch` (a gate of the rows changed
    since the last) has its own keys sent to the targets' scans instead."""
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
    if len(keys) == 1:
        expectations.append(gx.expectations.ExpectColumnValuesToBeUnique(column=keys[0]))
    elif keys:
        expectations.append(gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=keys))
    for ref in contract.references:
        table = (reference_tables or {}).get(ref.target)
        if table is None:
            raise MissingReferenceTableError(
                f"contract {contract.name} references {ref.target}, whose table was not named"
            )
        expectations.append(_reference_expectation(ref, table, ref.target in broadcast, small_batch))
    return SuiteSpec(suite_name(contract), expectations)


def suite_name(contract: Contract) -> str:
    """The name of the contract's suite, as its results and Data Docs carry it."""
    return f"{contract.name}-{contract.version}"


@dataclass(frozen=True)
class GateResult:
    suite: str
    success: bool
    evaluated: int
    failed_expectations: list[str]


class GateRun:
    """One GX context for a gate run: each table is validated as a batch of its own, and the Data
    Docs are built once, after the last, so the site's index lists every table the run gated (a
    context per table left the index showing only the last one, and rebuilt the site each time)."""

    def __init__(self, docs_dir: Path | None) -> None:
        self.docs_dir = docs_dir
        self.context = gx.get_context(mode="ephemeral")
        # Pipeline logs are read by people; a per-metric progress bar in them is noise.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        if docs_dir is not None:
            self.context.add_data_docs_site(
                site_name=DOCS_SITE,
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self.source = self.context.data_sources.add_spark(name="hub")

    def validate(self, df: DataFrame, spec: SuiteSpec, asset_name: str) -> GateResult:
        """Validate a whole DataFrame as one batch against `spec`."""
        # GX binds each expectation to the suite it joins; copies keep the spec reusable.
        suite = self.context.suites.add(
            ExpectationSuite(name=spec.name, expectations=[copy.copy(e) for e in spec.expectations])
        )
        batch_definition = self.source.add_dataframe_asset(
            name=asset_name
        ).add_batch_definition_whole_dataframe("whole")
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{asset_name}-batch", data=batch_definition, suite=suite)
        )
        # Most batches pass: the first run asks only whether each expectation holds, which takes
        # about half the Spark jobs of one that also counts and samples the unexpected values (14
        # against 23 for the case_event suite, 2.0 s against 4.0 s on 200,000 rows). A batch that
        # fails is run again in full, so its Data Docs show what was unexpected and where (the docs list
        # both runs of it, the later one with the detail).
        result = definition.run(batch_parameters={"dataframe": df}, result_format=ResultFormat.BOOLEAN_ONLY)
        if not result.success:
            result = definition.run(batch_parameters={"dataframe": df}, result_format=ResultFormat.SUMMARY)
        failed = [
            f"{config.type}({config.kwargs.get('column') or config.description or ''})"
            for r in result.results
            if not r.success and (config := r.expectation_config) is not None
        ]
        return GateResult(suite.name, bool(result.success), len(result.results), failed)

    def build_docs(self) -> None:
        if self.docs_dir is not None:
            self.context.build_data_docs(site_names=[DOCS_SITE])


@contextmanager
def gate_run(docs_dir: Path | None = None) -> Iterator[GateRun]:
    """A gate run whose Data Docs are built when it ends, failed tables included."""
    run = GateRun(docs_dir)
    try:
        yield run
    finally:
        run.build_docs()


def validate(df: DataFrame, spec: SuiteSpec, asset_name: str, docs_dir: Path | None = None) -> GateResult:
    """Validate a whole DataFrame as one batch; with `docs_dir`, also render GX Data Docs there."""
    with gate_run(docs_dir) as run:
        return run.validate(df, spec, asset_name)
