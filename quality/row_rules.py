"""Row rules compiled from a contract into Spark column expressions, checked in one pass.

Each rule is a boolean column that is true when a row breaks it. `tag_violations` adds one
array column holding the ids of every rule the row breaks, so a single projection tags a whole
batch and nothing is checked twice.

A rule that needs another dataset (a reference that must resolve, a deadline that depends on the
item's promised days) names a lookup: a left join that adds the columns its check reads. The
joins run in the same query as the checks, and their columns are dropped after tagging.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from hub.working_days import WorkingCalendar, load_calendar
from quality.contracts import Contract, Reference, RuleSpec

VIOLATIONS = "_violations"
UNPARSED = "_unparsed"
LOOKUP_PREFIX = "_lookup_"

Lookup = Callable[[DataFrame], DataFrame]


@dataclass(frozen=True)
class RowRule:
    rule_id: str
    field: str
    reason: str
    broken: Column
    lookup: Lookup | None = None  # adds the columns `broken` reads from other datasets


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


class MissingReferenceDataError(ValueError):
    """A rule needs another contract's table (a reference target, the catalogue) that the caller
    did not supply: an error, never a silently skipped rule."""


def reference_data_needed(contract: Contract) -> set[str]:
    """The contracts whose tables `compile_row_rules` needs as reference data for this contract."""
    needed = {r.target for r in contract.references}
    for f in contract.fields:
        for spec in f.rules:
            if spec.kind == "working_day_deadline":
                needed.add("approval_item")
    return needed


def _int_array(values: list[int]) -> Column:
    """A literal array of ints as one text that the optimizer splits once, not one literal per
    element: a calendar's 1,500 elements as literals took a second to build in Python and as long
    again for Spark to analyze, in every query that counts working days."""
    return F.split(F.lit(",".join(map(str, values))), ",").cast("array<int>")


@dataclass(frozen=True)
class CalendarArrays:
    """The working-day calendar as two literal arrays, so adding working days is two O(1) lookups
    per row instead of joins: the ordinal (working days up to and including the day) of each day
    from `first`, and the day offset of each ordinal's working day. Spans the known years and one
    either side (weekends only there)."""

    first: dt.date
    ordinal_of_offset: list[int]
    offset_of_ordinal: list[int]

    @classmethod
    def of(cls, calendar: WorkingCalendar) -> CalendarArrays:
        first = dt.date(min(calendar.known_years) - 1, 1, 1)
        days = (dt.date(max(calendar.known_years) + 1, 12, 31) - first).days + 1
        ordinals, offsets, ordinal = [], [], 0
        for offset in range(days):
            if calendar.is_working_day(first + dt.timedelta(days=offset)):
                ordinal += 1
                offsets.append(offset)
            ordinals.append(ordinal)
        return cls(first, ordinals, offsets)

    @cached_property
    def _ordinals(self) -> Column:
        return _int_array(self.ordinal_of_offset)

    @cached_property
    def _offsets(self) -> Column:
        return _int_array(self.offset_of_ordinal)

    def ordinal(self, day: Column) -> Column:
        """How many working days the table counts up to and including `day`; null off the table."""
        offset = F.datediff(day, F.lit(self.first))
        return F.when(offset >= 0, F.try_element_at(self._ordinals, offset + 1))

    def start_ordinal(self, day: Column) -> Column:
        """The ordinal of the first working day on or after `day`, where a time limit starts."""
        # A non-working day shares its ordinal with the working day before it; the count starts
        # from the next one.
        ordinal, before = self.ordinal(day), self.ordinal(F.date_sub(day, 1))
        working = F.when(before.isNotNull(), ordinal > before).otherwise(ordinal > 0)
        return ordinal + F.when(working, 0).otherwise(1)

    def day_of_ordinal(self, ordinal: Column) -> Column:
        """The working day with this ordinal; null off the table."""
        return F.date_add(F.lit(self.first), F.try_element_at(self._offsets, ordinal.cast("int")))

    def add_working_days(self, day: Column, days: Column) -> Column:
        """`days` working days after the first working day on or after `day`; null off the table."""
        return self.day_of_ordinal(self.start_ordinal(day) + days)


def _need(reference_data: Mapping[str, DataFrame], name: str, contract: Contract, why: str) -> DataFrame:
    if name not in reference_data:
        raise MissingReferenceDataError(f"contract {contract.name}: {why} needs {name}, which was not given")
    return reference_data[name]


# Up to this many keys, a one-column reference is checked against the keys inlined into the query
# (a hash set): as cheap as a code list. Beyond it, or for composite keys, a join does it.
INLINE_KEYS_LIMIT = 10_000
# Up to this many keys, the join broadcasts them (about 100 bytes a key in the hash table), so the
# checked rows are not shuffled and sorted for it: a million cases' materials are five million wide
# rows. Beyond it, both sides are shuffled.
BROADCAST_KEYS_LIMIT = 2_000_000


def _reference_rule(contract: Contract, ref: Reference, target: DataFrame) -> RowRule:
    """The reference resolves when the row's key columns, all present, match a target row."""
    present = reduce(lambda a, b: a & b, [F.col(c).isNotNull() for c in ref.columns])
    rule_id = f"{contract.name}.{ref.rule_field}.references"
    reason = f"({', '.join(ref.columns)}) matches no {ref.target}.({', '.join(ref.target_columns)})"
    found = f"{LOOKUP_PREFIX}{ref.rule_field}_found"
    keys = [f"{LOOKUP_PREFIX}{ref.rule_field}_key{i}" for i in range(len(ref.columns))]
    existing = target.select(
        *[F.col(c).alias(k) for c, k in zip(ref.target_columns, keys, strict=True)]
    ).distinct()
    if len(keys) == 1:
        few = existing.limit(INLINE_KEYS_LIMIT + 1).collect()
        if len(few) <= INLINE_KEYS_LIMIT:
            inlined = sorted(r[0] for r in few if r[0] is not None)
            return RowRule(rule_id, ref.rule_field, reason, present & ~F.col(ref.columns[0]).isin(*inlined))
    existing = existing.withColumn(found, F.lit(True))
    if existing.count() <= BROADCAST_KEYS_LIMIT:
        existing = F.broadcast(existing)

    def lookup(df: DataFrame) -> DataFrame:
        matches = [df[c] == existing[k] for c, k in zip(ref.columns, keys, strict=True)]
        return df.join(existing, reduce(lambda a, b: a & b, matches), "left")

    return RowRule(rule_id, ref.rule_field, reason, present & F.col(found).isNull(), lookup)


def _deadline_rule(
    contract: Contract,
    field: str,
    spec: RuleSpec,
    reference_data: Mapping[str, DataFrame],
    calendar: CalendarArrays,
) -> RowRule:
    """The promised deadline is the item's promised working days counted from the first working
    day on or after receipt (that day itself for an instant item, whose promise is 0 days).

    Unjudged, not broken, when the item is unknown (the reference rule reports that) or the date
    lies outside the calendar."""
    items = _need(reference_data, "approval_item", contract, f"{field}.{spec.name}")
    # The catalogue is small: its promised days are inlined into the query as a map.
    promised = sorted((r[0], r[1]) for r in items.select("item_code", "promised_days").collect())
    days_of = F.create_map(*[F.lit(x) for kv in promised for x in kv]).cast("map<string,int>")
    days = days_of[F.col("item_code")]

    expected = calendar.add_working_days(F.to_date(F.col(str(spec.argument))), days)
    return RowRule(
        f"{contract.name}.{field}.{spec.name}",
        field,
        f"{field} is not {spec.description}",
        F.col(field).isNotNull() & expected.isNotNull() & (F.col(field) != expected),
    )


def compile_row_rules(
    contract: Contract,
    code_lists: dict[str, frozenset[str]],
    reference_data: Mapping[str, DataFrame] | None = None,
    calendar: WorkingCalendar | None = None,
) -> list[RowRule]:
    """The contract's row rules. `reference_data` holds the tables the cross-dataset rules read, by
    contract name (see `reference_data_needed`); time limits count with `calendar` (by default the
    one in contracts/)."""
    data = reference_data or {}
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
            if spec.kind == "working_day_deadline":
                arrays = CalendarArrays.of(calendar or load_calendar())
                rules.append(_deadline_rule(contract, f.name, spec, data, arrays))
                continue
            rules.append(
                RowRule(
                    f"{prefix}.{f.name}.{spec.name}",
                    f.name,
                    f"{f.name} is not {spec.description}",
                    value.isNotNull() & ~_passes(spec, value),
                )
            )
    for ref in contract.references:
        why = f"the reference ({', '.join(ref.columns)}) -> {ref.target}"
        rules.append(_reference_rule(contract, ref, _need(data, ref.target, contract, why)))
    return rules


def tag_violations(df: DataFrame, rules: list[RowRule]) -> DataFrame:
    """Add `_violations`: the ids of the rules each row breaks (empty when the row is valid)."""
    for rule in rules:
        if rule.lookup is not None:
            df = rule.lookup(df)
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
    tagged = df.withColumn(VIOLATIONS, F.when(any_broken, F.concat(*tags)).otherwise(no_tag))
    return tagged.drop(*[c for c in df.columns if c.startswith(LOOKUP_PREFIX)])


def reasons_for(rules: list[RowRule]) -> dict[str, str]:
    return {rule.rule_id: rule.reason for rule in rules}
