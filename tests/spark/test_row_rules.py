"""The Spark row rules (Java UDFs) must agree with the Python identifier checks on every case.

The two implementations hold their own copies of the province codes, weights and authority/type
table, so besides hand-picked cases the corpus sweeps every province prefix, every authority and
type pair, and birth dates around month ends, leap days and today.
"""

import datetime as dt

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from hub.identifiers import (
    CREDIT_CODE_CHARSET,
    RESIDENT_ID_CHECK_CHARS,
    check_credit_code,
    check_resident_id,
    check_subject_id,
    credit_code_check_char,
    resident_id_check_char,
)
from quality.row_rules import valid_credit_code, valid_resident_id, valid_subject_id

pytestmark = pytest.mark.spark

HAND_PICKED = [
    "11010519491231002X",  # the standard's example: check character X
    "11010519491231002x",  # lower-case x: callers upper-case first
    "440106199013011232",  # month 13, right check character
    "440106000001011234",  # year 0
    "440106199002291232",  # 29 February of a common year
    "440106200002291238",  # 29 February of a leap year: valid
    "440524188001010014",
    "11010519491231002Y",
    "110105194912310021",  # wrong check character
    "440106202302300011",  # 30 February
    "440106203001010015",  # born in the future
    "990106198001010010",
    "44010619800101001",
    "4401061980010100101",
    "110105\uff11\uff19\uff14\uff191231002X",  # full-width digits
    "91350100M000100Y43",
    "91350100M000100Y44",  # wrong check character
    "9I350100M000100Y43",
    "B1350100M000100Y43",
    "95350100M000100Y43",
    "91440106MA59C5XW3U",
    "913501A0M000100Y4" + credit_code_check_char("913501A0M000100Y4"),  # letter in the region
    "440106199003071235",
    "",
]


def resident(region: str, birth: str, serial: str = "123") -> str:
    body = region + birth + serial
    return body + resident_id_check_char(body)


def credit(prefix: str, region: str = "440106", org: str = "MA59C5XW3") -> str:
    body = prefix + region + org
    return body + credit_code_check_char(body)


def generated(today: dt.date) -> list[str]:
    values = [resident(f"{p:02d}0106", "19900101") for p in range(100)]
    values += [credit("91", f"{p:02d}0106") for p in range(100)]
    values += [credit(a + t) for a in CREDIT_CODE_CHARSET for t in CREDIT_CODE_CHARSET]
    for year in (1799, 1800, 1900, 2000, 2023, 2024):
        for month in (0, 1, 2, 4, 12, 13):
            for day in (0, 1, 28, 29, 30, 31, 32):
                values.append(resident("440106", f"{year:04d}{month:02d}{day:02d}"))
    for offset in (-1, 0, 1, 366):
        values.append(resident("440106", f"{today + dt.timedelta(days=offset):%Y%m%d}"))
    # Every check character in place of the right one, X included.
    for valid in (resident("110105", "19491231", "002"), resident("440106", "20000229")):
        values += [valid[:17] + c for c in RESIDENT_ID_CHECK_CHARS]
    for valid in (credit("91"), credit("Y1")):
        values += [valid[:17] + c for c in CREDIT_CODE_CHARSET]
    return values


def test_spark_and_python_identifier_checks_agree(spark: SparkSession) -> None:
    # The session's date, as the Spark checks see it (session time zone).
    today = spark.range(1).select(F.current_date()).first()[0]  # type: ignore[index]
    corpus = sorted(set(HAND_PICKED + generated(today)))
    value = F.col("value")
    checked = (
        spark.createDataFrame([(v,) for v in corpus], "value string")
        .select(
            "value",
            valid_resident_id(value).alias("resident"),
            valid_credit_code(value).alias("credit"),
            valid_subject_id(value).alias("subject"),
        )
        .collect()
    )
    in_spark = {row["value"]: (row["resident"], row["credit"], row["subject"]) for row in checked}
    in_python = {
        v: (
            check_resident_id(v, today).valid,
            check_credit_code(v).valid,
            # The API's check also trims and upper-cases; the row rules see conformed values.
            v == v.strip().upper() and check_subject_id(v, today).valid,
        )
        for v in corpus
    }
    disagreements = {v: (in_spark[v], in_python[v]) for v in corpus if in_spark[v] != in_python[v]}
    assert not disagreements
    # The corpus mixes both outcomes for each check.
    for i in range(3):
        assert 50 < sum(result[i] for result in in_python.values()) < len(corpus) - 50


def test_null_ids_are_left_to_the_required_rule(spark: SparkSession) -> None:
    value = F.col("value")
    row = (
        spark.createDataFrame([(None,)], "value string")
        .select(valid_resident_id(value), valid_credit_code(value), valid_subject_id(value))
        .first()
    )
    assert row is not None
    assert list(row) == [None, None, None]
