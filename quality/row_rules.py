"""Row rules compiled from a contract into Spark column expressions, checked in one pass.

Each rule is a boolean column that is true when a row breaks it. `tag_violations` adds one
array column holding the ids of every rule the row breaks, so a single projection tags a whole
batch and nothing is checked twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from quality.contracts import Contract, RuleSpec

VIOLATIONS = "_violations"
UNPARSED = "_unparsed"


@dataclass(frozen=True)
class RowRule:
    rule_id: str
    field: str
    reason: str
    broken: Column


# The subject id checks run as Java UDFs (infra/udf, registered by jobs/spark.py): as column
# expressions, dozens of substring and arithmetic terms per id compiled into generated methods so
# large that validating a batch cost as much as reading and writing it. Name -> implementing class.
JAVA_UDFS = {
    "hub_valid_resident_id": "org.approvalhub.udf.ValidResidentId",
    "hub_valid_credit_code": "org.approvalhub.udf.ValidCreditCode",
    "hub_valid_subject_id": "org.approvalhub.udf.ValidSubjectId",
}


def _today() -> Column:
    # The session's date as yyyyMMdd: folded to a constant per query, and it keeps "not in the
    # future" in the session time zone rather than the JVM's.
    return F.date_format(F.current_date(), "yyyyMMdd").cast("int")


def valid_resident_id(value: Column) -> Column:
    """GB 11643: shape, province, a real birth date not in the future, ISO 7064 MOD 11-2 check."""
    return F.call_udf("hub_valid_resident_id", value, _today())


def valid_credit_code(value: Column) -> Column:
    """GB 32100: character set, authority and type codes, region, MOD 31 check character."""
    return F.call_udf("hub_valid_credit_code", value)


def valid_subject_id(value: Column) -> Column:
    """A valid resident ID or a valid credit code, checked in one call."""
    return F.call_udf("hub_valid_subject_id", value, _today())


def valid_mobile_phone(value: Column) -> Column:
    """A mainland mobile number: 11 digits starting 13-19, optionally with +86 or 86 in front."""
    return value.rlike(r"^(\+?86)?1[3-9]\d{9}$")


def _passes(spec: RuleSpec, value: Column) -> Column:
    """The column expression that is true when `value` satisfies the contract rule `spec`."""
    match spec.kind:
        case "subject_id":
            return valid_subject_id(value)
        case "resident_id":
            return valid_resident_id(value)
        case "credit_code":
            return valid_credit_code(value)
        case "mobile_phone":
            return valid_mobile_phone(value)
        case "not_in_future":
            return value <= F.current_timestamp()
        case "not_before":
            return value >= F.col(str(spec.argument))
    raise ValueError(f"contract rule {spec.name}: unknown implementation {spec.implementation!r}")


class MissingReferenceKeysError(ValueError):
    """A contract field references another dataset whose keys the caller did not supply."""


def compile_row_rules(
    contract: Contract,
    code_lists: dict[str, frozenset[str]],
    reference_keys: Mapping[str, Collection[str]] | None = None,
) -> list[RowRule]:
    """The contract's row rules. `reference_keys` holds, for each "<contract>.<field>" that a field
    references, the keys that exist there (small reference data such as the item catalogue)."""
    rules: list[RowRule] = []
    prefix = contract.name
    for f in contract.fields:
        value = F.col(f.name)
        if f.required:
            rules.append(
                RowRule(f"{prefix}.{f.name}.required", f.name, f"{f.name} is required", value.isNull())
            )
        if f.physical_type != "string":
            rules.append(
                RowRule(
                    f"{prefix}.{f.name}.type",
                    f.name,
                    f"{f.name} is not a valid {f.physical_type}",
                    F.array_contains(F.col(UNPARSED), f.name),
                )
            )
        if f.code_list:
            codes = sorted(code_lists[f.code_list])
            rules.append(
                RowRule(
                    f"{prefix}.{f.name}.code_list",
                    f.name,
                    f"{f.name} is not a code of list {f.code_list}",
                    value.isNotNull() & ~value.isin(*codes),
                )
            )
        if f.references:
            keys = (reference_keys or {}).get(f.references)
            if keys is None:
                raise MissingReferenceKeysError(
                    f"contract {contract.name}: {f.name} references {f.references}, whose keys were not given"
                )
            rules.append(
                RowRule(
                    f"{prefix}.{f.name}.references",
                    f.name,
                    f"{f.name} matches no {f.references}",
                    value.isNotNull() & ~value.isin(*sorted(keys)),
                )
            )
        for spec in f.rules:
            rules.append(
                RowRule(
                    f"{prefix}.{f.name}.{spec.name}",
                    f.name,
                    f"{f.name} is not {spec.description}",
                    value.isNotNull() & ~_passes(spec, value),
                )
            )
    return rules


def tag_violations(df: DataFrame, rules: list[RowRule]) -> DataFrame:
    """Add `_violations`: the ids of the rules each row breaks (empty when the row is valid)."""
    broken = [F.coalesce(rule.broken, F.lit(False)) for rule in rules]
    # Concatenating one-element-or-empty arrays stays in generated code; filtering an array of
    # nulls would call a lambda per row.
    no_tag = F.array().cast("array<string>")
    tags = [
        F.when(b, F.array(F.lit(rule.rule_id))).otherwise(no_tag)
        for b, rule in zip(broken, rules, strict=True)
    ]
    # Nearly every row is valid: one OR of the checks spares it building and concatenating an
    # array per rule, and only a broken row evaluates its checks a second time.
    any_broken = reduce(lambda a, b: a | b, broken, F.lit(False))
    return df.withColumn(VIOLATIONS, F.when(any_broken, F.concat(*tags)).otherwise(no_tag))


def reasons_for(rules: list[RowRule]) -> dict[str, str]:
    return {rule.rule_id: rule.reason for rule in rules}
