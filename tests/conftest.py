"""Shared fixtures: one hub home per test session, one Spark session, a real MinIO server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


def start_minio(data_dir: Path) -> MinioServer:
    port, console_port = free_port(), free_port()
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
                return MinioServer(endpoint, access_key, secret_key, data_dir, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("MinIO did not become live within 60 s")


@pytest.fixture(scope="session")
def minio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    server = start_minio(tmp_path_factory.mktemp("minio-data"))
    yield server
    server.process.terminate()
    server.process.wait(timeout=30)


@pytest.fixture(scope="session")
def airflow_configured(hub_settings: Settings) -> Settings:
    """Airflow pointed at the repo's DAGs and a fresh SQLite database in the session's home."""
    from hub.airflow_runner import configure_airflow

    configure_airflow(hub_settings)
    return hub_settings
