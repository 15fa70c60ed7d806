"""Shared fixtures: one hub home per test session, one Spark session, a real MinIO server, a Spark
standalone cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

# A pytest-xdist worker runs with a bare __main__ (no __spec__, no __file__), which pyspark's Spark
# Connect import check takes for a doctest run and answers with sys.exit(0).
_main = sys.modules["__main__"]
if _main.__spec__ is None and not hasattr(_main, "__file__"):
    _main.__file__ = "pytest-xdist-worker"

# Every component reads HUB_ settings from the environment, Airflow's task code included, so the
# session's home is fixed before anything builds settings.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="hub-test-"))
os.environ["HUB_HOME"] = str(_SESSION_HOME)
# One retry keeps the retry path exercised without the production back-off's wait.
os.environ["HUB_TASK_RETRIES"] = "1"
os.environ["HUB_TASK_RETRY_DELAY_SECONDS"] = "1"
# The fixtures are a few hundred rows: one task a shuffle instead of four saved a tenth of the Spark
# tests' time, measured side by side.
os.environ["HUB_SPARK_SHUFFLE_PARTITIONS"] = "1"

from hub.serving import free_port  # noqa: E402
from hub.settings import Settings, get_settings  # noqa: E402

get_settings.cache_clear()


@pytest.fixture(scope="session")
def hub_settings() -> Iterator[Settings]:
    yield get_settings()
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def spark(hub_settings: Settings):
    from jobs.spark import get_spark

    session = get_spark(hub_settings, app_name="hub-tests")
    yield session
    session.stop()


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A hub home of the test's own: the CLI reads its settings through the cached get_settings."""
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@dataclass(frozen=True)
class MinioServer:
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    console_port: int

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def restarted(self) -> MinioServer:
        """The same server started again: same data, same address, so clients reconnect to it."""
        return start_minio(self.data_dir, int(self.endpoint.rsplit(":", 1)[1]), self.console_port)

    def settings_for(self, base: Settings, home: Path, **overrides: object) -> Settings:
        """`base` moved onto this server: storage over S3, `home` for what stays local."""
        return base.model_copy(
            update={
                "home": home,
                "storage": "s3",
                "s3_endpoint": self.endpoint,
                "s3_access_key": self.access_key,
                "s3_secret_key": self.secret_key,
                **overrides,
            }
        )


def _minio_binary() -> str:
    binary = os.environ.get("HUB_MINIO_BINARY") or shutil.which("minio")
    if not binary or not Path(binary).exists():
        # Not a skip: the MinIO path is part of what CI must prove. `make test` builds the binary.
        raise RuntimeError("no MinIO server binary: run the tests through `make test`, which builds it")
    return binary


def start_minio(data_dir: Path, port: int | None = None, console_port: int | None = None) -> MinioServer:
    port, console_port = port or free_port(), console_port or free_port()
    access_key, secret_key = "hub-test", "hub-test-secret"
    env = os.environ | {
        "MINIO_ROOT_USER": access_key,
        "MINIO_ROOT_PASSWORD": secret_key,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }
    process = subprocess.Popen(
        [
            _minio_binary(),
            "server",
            str(data_dir),
            "--address",
            f"127.0.0.1:{port}",
            "--console-address",
            f"127.0.0.1:{console_port}",
            "--quiet",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"MinIO exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"{endpoint}/minio/health/live", timeout=1).status_code == 200:
                return MinioServer(endpoint, access_key, secret_key, data_dir, process, console_port)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("MinIO did not become live within 60 s")


@pytest.fixture(scope="session")
def minio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    server = start_minio(tmp_path_factory.mktemp("minio-data"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def airflow_configured(hub_settings: Settings) -> Settings:
    """Airflow pointed at the repo's DAGs and a fresh SQLite database in the session's home."""
    from hub.airflow_runner import configure_airflow

    configure_airflow(hub_settings)
    return hub_settings


@dataclass(frozen=True)
class SparkCluster:
    """A Spark standalone master and one worker from the pyspark distribution, on 127.0.0.1."""

    master_url: str
    web_url: str
    worker_web_url: str
    log_dir: Path

    def state(self) -> dict[str, Any]:
        """The master's own account of its workers and applications."""
        return _json(self.web_url)

    def worker_state(self) -> dict[str, Any]:
        """The worker's account of the executors it ran, with the application of each."""
        return _json(self.worker_web_url)

    def logs(self) -> str:
        """The daemons' logs and the executors' stderr, for a failure message."""
        files = sorted(self.log_dir.glob("*.log")) + sorted(self.log_dir.glob("work/*/*/stderr"))
        return "\n".join(f"== {f}\n{f.read_text(errors='replace')[-4000:]}" for f in files)


def _json(web_url: str) -> dict[str, Any]:
    response = httpx.get(f"{web_url}/json/", timeout=10)
    response.raise_for_status()
    state: dict[str, Any] = response.json()
    return state


def _spark_daemon(log_dir: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    env = os.environ | {
        "SPARK_LOCAL_IP": "127.0.0.1",
        # The daemons only schedule; the executor the worker starts gets its own memory.
        "SPARK_DAEMON_MEMORY": "256m",
        # The master's REST submission server would take the fixed port 6066.
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
    }
    with (log_dir / f"{name}.log").open("wb") as log:
        # A session of its own, so the fixture stops the JVM and anything it started together.
        return subprocess.Popen(
            [str(spark_class), *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    log_dir = tmp_path_factory.mktemp("spark-cluster")
    port, web_port, worker_web_port = free_port(), free_port(), free_port()
    cluster = SparkCluster(
        f"spark://127.0.0.1:{port}",
        f"http://127.0.0.1:{web_port}",
        f"http://127.0.0.1:{worker_web_port}",
        log_dir,
    )
    daemons = [
        _spark_daemon(
            log_dir,
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port)),
        ),
        _spark_daemon(
            log_dir,
            "worker",
            "org.apache.spark.deploy.worker.Worker",
            cluster.master_url,
            *("--host", "127.0.0.1", "--webui-port", str(worker_web_port), "--cores", "1", "--memory", "1g"),
            *("--work-dir", str(log_dir / "work")),
        ),
    ]
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if cluster.state()["aliveworkers"] >= 1:
                    break
            if time.monotonic() > deadline or any(d.poll() is not None for d in daemons):
                raise RuntimeError(f"the Spark worker did not register with the master:\n{cluster.logs()}")
            time.sleep(0.5)
        yield cluster
    finally:
        for daemon in reversed(daemons):
            _stop_group(daemon)
