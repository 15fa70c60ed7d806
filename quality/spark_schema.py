"""A contract's Spark schema: the types silver tables are conformed to."""

from __future__ import annotations

import re

from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from quality.contracts import Contract

_SIMPLE_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "timestamp": TimestampType(),
    "date": DateType(),
    "int": IntegerType(),
    "integer": IntegerType(),
    "long": LongType(),
    "bigint": LongType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")


def spark_type(physical_type: str) -> DataType:
    if physical_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[physical_type]
    if match := _DECIMAL.match(physical_type):
        return DecimalType(int(match.group(1)), int(match.group(2)))
    raise ValueError(f"contract type {physical_type!r} has no Spark type")


def spark_schema(contract: Contract) -> StructType:
    """Required fields are still nullable: a missing value is quarantined by a rule, not a crash."""
    return StructType(
        [StructField(f.name, spark_type(f.physical_type), nullable=True) for f in contract.fields]
    )
