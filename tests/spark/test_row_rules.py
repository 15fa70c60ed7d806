"""The Spark row rules must agree with the Python identifier checks on every case of a corpus."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from hub.identifiers import check_subject_id
from quality.row_rules import valid_credit_code, valid_resident_id

pytestmark = pytest.mark.spark

CORPUS = [
    "11010519491231002X",
    "440106199013011232",  # month 13, right check character
    "440106000001011234",  # year 0
    "440106199002291232",  # 29 February of a common year
    "440106200002291238",  # 29 February of a leap year: valid
    "440524188001010014",
    "11010519491231002Y",
    "110105194912310021",
    "440106202302300011",
    "440106203001010015",
    "990106198001010010",
    "44010619800101001",
    "91350100M000100Y43",
    "91350100M000100Y44",
    "9I350100M000100Y43",
    "B1350100M000100Y43",
    "95350100M000100Y43",
    "91440106MA59C5XW3U",
    "440106199003071235",
    "",
]


def test_spark_and_python_identifier_checks_agree(spark: SparkSession) -> None:
    df = spark.createDataFrame([(v,) for v in CORPUS], "value string")
    checked = df.select(
        "value", (valid_resident_id(F.col("value")) | valid_credit_code(F.col("value"))).alias("valid")
    ).collect()
    in_spark = {row["value"]: bool(row["valid"]) for row in checked}
    in_python = {v: check_subject_id(v, dt.date.today()).valid for v in CORPUS}
    assert in_spark == in_python
    assert sum(in_python.values()) >= 3  # the corpus mixes both outcomes
