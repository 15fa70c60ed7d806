"""The Spark form of the working-day calendar must count exactly as the Python one does."""

import datetime as dt

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from hub.working_days import load_calendar
from quality.row_rules import CalendarArrays

pytestmark = pytest.mark.spark


def test_spark_and_python_add_the_same_working_days(spark: SparkSession) -> None:
    calendar = load_calendar()
    first = dt.date(2024, 12, 20)  # from before the known years to past their end
    days = [first + dt.timedelta(days=i) for i in range((dt.date(2027, 1, 10) - first).days)]
    promises = (0, 1, 3, 5, 20)
    rows = spark.createDataFrame([(d, n) for d in days for n in promises], "day date, promised int")
    due = CalendarArrays.of(calendar).add_working_days(F.col("day"), F.col("promised"))
    got = {
        (r["day"], r["promised"]): r["due"]
        for r in rows.select("day", "promised", due.alias("due")).collect()
    }

    for day in days:
        start = day if calendar.is_working_day(day) else calendar.add_working_days(day, 1)
        for promised in promises:
            assert got[(day, promised)] == calendar.add_working_days(start, promised), (day, promised)


def test_dates_off_the_calendar_are_not_judged(spark: SparkSession) -> None:
    arrays = CalendarArrays.of(load_calendar())
    rows = spark.createDataFrame([(dt.date(1999, 1, 4),), (dt.date(2099, 1, 5),), (None,)], "day date")
    due = rows.select(arrays.add_working_days(F.col("day"), F.lit(3)).alias("due")).collect()
    assert [r["due"] for r in due] == [None, None, None]
