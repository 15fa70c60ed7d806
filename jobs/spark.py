"""The one place a SparkSession is built: Delta extension, local jars, and S3A when storage is S3."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession
from pyspark.sql.types import BooleanType

from hub.settings import REPO_ROOT, Settings
from jobs.maintenance import retention_properties
from quality.row_rules import JAVA_UDFS

LOG4J_CONFIG = REPO_ROOT / "infra" / "spark" / "log4j2.properties"
COMPILE_HUGE_METHODS = "-XX:-DontCompileHugeMethods"
UDF_JAR = "hub-udf.jar"


def jar_paths(settings: Settings) -> list[str]:
    jars = sorted(settings.jars_dir.glob("*.jar"))
    if not any(j.name.startswith("delta-spark") for j in jars):
        raise RuntimeError(
            f"Delta jars are missing from {settings.jars_dir}; run `make jars` (make demo and make test do)."
        )
    if not any(j.name == UDF_JAR for j in jars):
        raise RuntimeError(
            f"{UDF_JAR} (the row rules' UDFs) is missing from {settings.jars_dir}; run `make jars`."
        )
    return [str(j) for j in jars]


def spark_conf(settings: Settings) -> dict[str, str]:
    conf = {
        "spark.jars": ",".join(jar_paths(settings)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        # Delta's vacuum lists a table's files in this many tasks (default 10,000): a weekly vacuum of
        # a small table took a minute on two cores. Sized like the shuffle, to the cluster.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.spark_shuffle_partitions),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.session.timeZone": "Asia/Shanghai",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # PySpark otherwise records the Python call site of every column function for error
        # messages: several round trips to the JVM per call, about 40% of the time a contract's
        # query took to build. Errors still name the failing expression and the query.
        "spark.python.sql.dataFrameDebugging.enabled": "false",
        "spark.sql.debug.maxToStringFields": "200",
        # Delta rebuilds a table's state with this many tasks; the default (50) is for clusters.
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.ansi.enabled": "true",
        # Department exports come in GBK; Spark 4 accepts charsets beyond the UTF/ISO set only so.
        "spark.sql.legacy.javaCharsets": "true",
        # Deletion vectors only in the tables made with them: delta-rs's Arrow dataset refuses them.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        "spark.local.dir": str(settings.home / "spark-tmp"),
        "spark.sql.warehouse.dir": str(settings.home / "spark-warehouse"),
        # Contract row checks compile into large generated methods; HotSpot leaves methods over 8 KB
        # of bytecode uncompiled unless told otherwise, which made validation several times slower.
        "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile={LOG4J_CONFIG} {COMPILE_HUGE_METHODS}",
        "spark.executor.extraJavaOptions": COMPILE_HUGE_METHODS,
    }
    # New tables keep the audit window's history from their first commit, so upkeep need not add a
    # commit to each one to set it (it still does for tables made before).
    conf |= {
        f"spark.databricks.delta.properties.defaults.{key.removeprefix('delta.')}": value
        for key, value in retention_properties(settings.audit_retention_days).items()
    }
    if settings.storage == "s3":
        conf |= {f"spark.hadoop.{key}": value for key, value in s3a_conf(settings).items()}
    return conf


def s3a_conf(settings: Settings) -> dict[str, str]:
    """Hadoop S3A settings for an S3-compatible store (MinIO here): path-style, the hub's endpoint."""
    return {
        "fs.s3a.endpoint": settings.s3_endpoint,
        "fs.s3a.access.key": settings.s3_access_key,
        "fs.s3a.secret.key": settings.s3_secret_key,
        "fs.s3a.endpoint.region": settings.s3_region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(settings.s3_endpoint.startswith("https")).lower(),
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        # Endpoints can change between runs of one JVM (tests); never reuse a cached client.
        "fs.s3a.impl.disable.cache": "true",
        # A store that is down fails a request after the SDK's few attempts (not its long default
        # back-off); S3A then retries the operation with exponential back-off from the interval, so a
        # store restarting for some seconds is ridden out (about a minute at most) and one that stays
        # down still fails the task, whose own retries come next.
        "fs.s3a.attempts.maximum": "3",
        "fs.s3a.retry.limit": "6",
        "fs.s3a.retry.interval": "1s",
    }


def get_spark(settings: Settings, app_name: str = "approval-hub") -> SparkSession:
    """Return the process's SparkSession, creating it on first use.

    One session per process: tasks that Airflow runs in the same process and the whole test
    suite share it, because starting a JVM costs seconds.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        if settings.storage == "s3":
            hadoop_conf = active.sparkContext._jsc.hadoopConfiguration()
            for key, value in s3a_conf(settings).items():
                hadoop_conf.set(key, value)
        return active
    # The JVM binds to loopback unless told otherwise; a cluster deployment sets its own address.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name).master(settings.spark_master)
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    for name, java_class in JAVA_UDFS.items():
        spark.udf.registerJavaFunction(name, java_class, BooleanType())
    return spark


@contextmanager
def job_description(spark: SparkSession, description: str) -> Iterator[None]:
    """Name the Spark jobs run inside, as the Spark UI and event log show them."""
    spark.sparkContext.setJobDescription(description)
    try:
        yield
    finally:
        spark.sparkContext.setJobDescription(None)  # type: ignore[arg-type]
