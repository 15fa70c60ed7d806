"""Row rules compiled from a contract into Spark column expressions, checked in one pass.

Each rule is a boolean column that is true when a row breaks it. `tag_violations` adds one
array column holding the ids of every rule the row breaks, so a single projection tags a whole
batch and nothing is checked twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from hub.identifiers import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_TYPES,
    CREDIT_CODE_WEIGHTS,
    PROVINCE_CODES,
    RESIDENT_ID_CHECK_CHARS,
    RESIDENT_ID_WEIGHTS,
)
from quality.contracts import Contract, RuleSpec

VIOLATIONS = "_violations"
UNPARSED = "_unparsed"


@dataclass(frozen=True)
class RowRule:
    rule_id: str
    field: str
    reason: str
    broken: Column


def _char(value: Column, position: int) -> Column:
    return F.substring(value, position, 1)


def _weighted_sum(terms: list[Column]) -> Column:
    return reduce(lambda a, b: a + b, terms)


def valid_resident_id(value: Column) -> Column:
    """GB 11643: shape, province, a real birth date not in the future, ISO 7064 MOD 11-2 check."""
    digits = [_char(value, i + 1).try_cast("int") for i in range(17)]
    checksum = _weighted_sum([d * w for d, w in zip(digits, RESIDENT_ID_WEIGHTS, strict=True)]) % 11
    birth = F.try_to_date(F.substring(value, 7, 8), "yyyyMMdd")
    # try_to_date accepts some impossible dates leniently; a round trip rejects them (e.g. 20230230).
    real_birth = F.date_format(birth, "yyyyMMdd") == F.substring(value, 7, 8)
    return (
        value.rlike(r"^\d{17}[\dX]$")
        & F.substring(value, 1, 2).isin(*sorted(PROVINCE_CODES))
        & real_birth
        & (birth <= F.current_date())
        & (F.year(birth) >= 1800)
        & (_char(value, 18) == F.substring(F.lit(RESIDENT_ID_CHECK_CHARS), checksum + 1, 1))
    )


def valid_credit_code(value: Column) -> Column:
    """GB 32100: character set, authority and type codes, region, MOD 31 check character."""
    charset = F.lit(CREDIT_CODE_CHARSET)
    codes = [F.instr(charset, _char(value, i + 1)) - 1 for i in range(17)]
    checksum = (
        31 - _weighted_sum([c * w for c, w in zip(codes, CREDIT_CODE_WEIGHTS, strict=True)]) % 31
    ) % 31
    authority_type = sorted(a + t for a, types in CREDIT_CODE_TYPES.items() for t in types)
    return (
        value.rlike(rf"^[{CREDIT_CODE_CHARSET}]{{18}}$")
        & F.substring(value, 1, 2).isin(*authority_type)
        & F.substring(value, 3, 6).rlike(r"^\d{6}$")
        & F.substring(value, 3, 2).isin(*sorted(PROVINCE_CODES))
        & (_char(value, 18) == F.substring(charset, checksum + 1, 1))
    )


def valid_mobile_phone(value: Column) -> Column:
    """A mainland mobile number: 11 digits starting 13-19, optionally with +86 or 86 in front."""
    return value.rlike(r"^(\+?86)?1[3-9]\d{9}$")


def _passes(spec: RuleSpec, value: Column) -> Column:
    """The column expression that is true when `value` satisfies the contract rule `spec`."""
    match spec.kind:
        case "subject_id":
            return valid_resident_id(value) | valid_credit_code(value)
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


def compile_row_rules(contract: Contract, code_lists: dict[str, frozenset[str]]) -> list[RowRule]:
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
    tags = [F.when(F.coalesce(rule.broken, F.lit(False)), F.lit(rule.rule_id)) for rule in rules]
    return df.withColumn(VIOLATIONS, F.filter(F.array(*tags), lambda tag: tag.isNotNull()))


def reasons_for(rules: list[RowRule]) -> dict[str, str]:
    return {rule.rule_id: rule.reason for rule in rules}
