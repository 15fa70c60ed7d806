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


def _digit(value: Column, position: int) -> Column:
    # ascii() of one character is far cheaper per row than parsing a string to int.
    return F.ascii(_char(value, position)) - 48


def _number(value: Column, position: int, length: int) -> Column:
    return _weighted_sum([_digit(value, position + i) * 10 ** (length - 1 - i) for i in range(length)])


def _real_birth_date(value: Column) -> Column:
    """Positions 7-14 are yyyyMMdd of a real date from 1800 to today.

    Checked with arithmetic instead of parsing and re-formatting the date, which costs more per
    row than every other check together.
    """
    year, month, day = _number(value, 7, 4), _number(value, 11, 2), _number(value, 13, 2)
    # Clamp before make_date: under ANSI it raises on an impossible date instead of returning null.
    first_of_month = F.make_date(
        F.when(year.between(1800, 9999), year).otherwise(2000),
        F.when(month.between(1, 12), month).otherwise(1),
        F.lit(1),
    )
    days_in_month = F.dayofmonth(F.last_day(first_of_month))
    return (
        (year >= 1800)
        & month.between(1, 12)
        & (day >= 1)
        & (day <= days_in_month)
        & (F.substring(value, 7, 8) <= F.date_format(F.current_date(), "yyyyMMdd"))
    )


def valid_resident_id(value: Column) -> Column:
    """GB 11643: shape, province, a real birth date not in the future, ISO 7064 MOD 11-2 check.

    The conjunction short-circuits left to right, so the cheap shape test guards the rest.
    """
    checksum = _weighted_sum([_digit(value, i + 1) * w for i, w in enumerate(RESIDENT_ID_WEIGHTS)]) % 11
    return (
        value.rlike(r"^\d{17}[\dX]$")
        & F.substring(value, 1, 2).isin(*sorted(PROVINCE_CODES))
        & _real_birth_date(value)
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
    # Concatenating one-element-or-empty arrays stays in generated code; filtering an array of
    # nulls would call a lambda per row.
    no_tag = F.array().cast("array<string>")
    tags = [
        F.when(F.coalesce(rule.broken, F.lit(False)), F.array(F.lit(rule.rule_id))).otherwise(no_tag)
        for rule in rules
    ]
    return df.withColumn(VIOLATIONS, F.concat(*tags))


def reasons_for(rules: list[RowRule]) -> dict[str, str]:
    return {rule.rule_id: rule.reason for rule in rules}
