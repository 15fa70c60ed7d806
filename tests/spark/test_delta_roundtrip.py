import pytest
from deltalake import DeltaTable
from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark


def test_spark_writes_delta_that_spark_and_delta_rs_read_back(spark: SparkSession, tmp_path) -> None:
    path = str(tmp_path / "roundtrip")
    rows = [("91350100M000100Y43", "广州市粤香餐饮有限公司", 2), ("11010519491231002X", "陈伟", 1)]
    spark.createDataFrame(rows, "subject_id string, name string, cases int").write.format("delta").save(path)
    spark.createDataFrame(
        [("440524188001010014", "黄芳", 3)], "subject_id string, name string, cases int"
    ).write.format("delta").mode("append").save(path)

    from_spark = sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())
    table = DeltaTable(path)
    from_delta_rs = sorted(tuple(r.values()) for r in table.to_pyarrow_table().to_pylist())

    assert from_spark == from_delta_rs
    assert len(from_spark) == 3
    assert table.version() == 1
    # Nothing a delta-rs reader cannot read.
    assert "deletionVectors" not in (table.protocol().reader_features or [])
