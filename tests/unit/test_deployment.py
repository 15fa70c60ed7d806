"""The production deployment files name the services, ports and settings the code really uses.

Nothing here can start a container (no engine on CI), so the files are checked by parsing them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from hub.monthly_report import ECHARTS_BUNDLE
from hub.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.unit

INFRA = REPO_ROOT / "infra"
SERVICES = {
    "minio",
    "postgres",
    "redis",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "spark-master",
    "spark-worker",
    "hub-api",
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    # Secrets come from infra/.env at deployment; a stand-in keeps URLs holding them parseable.
    text = re.sub(
        r"\$\{[A-Z_]+:\?[^}]*\}",
        "a-secret-of-forty-characters-from-dotenv",
        (INFRA / "compose.yaml").read_text(encoding="utf-8"),
    )
    compose = yaml.safe_load(text)
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _published(service: dict[str, Any]) -> set[int]:
    return {int(mapping.split(":")[-1]) for mapping in service.get("ports", [])}


def test_every_production_service_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


def test_every_hub_setting_named_is_one_the_settings_class_reads(services: dict[str, dict[str, Any]]) -> None:
    named = {
        key
        for service in services.values()
        for key in service.get("environment", {})
        if key.startswith("HUB_")
    }
    fields = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert named, "no HUB_ settings found: the file's shape changed"
    assert named - fields == set()
    # Each value must also parse as that setting.
    for service in services.values():
        literal = {
            key.removeprefix("HUB_").lower(): value
            for key, value in service.get("environment", {}).items()
            if key.startswith("HUB_")
        }
        Settings.model_validate(literal)


def test_the_services_find_each_other_where_they_listen(services: dict[str, dict[str, Any]]) -> None:
    api = services["hub-api"]["environment"]
    assert services["hub-api"]["command"] == ["hub", "serve"]
    assert _published(services["hub-api"]) == {int(api["HUB_API_PORT"])}
    assert api["HUB_API_HOST"] == "0.0.0.0"

    s3 = urlparse(api["HUB_S3_ENDPOINT"])
    minio_port = int(_option(services["minio"]["command"], "--address").lstrip(":"))
    assert (s3.hostname, s3.port) == ("minio", minio_port)
    assert minio_port in _published(services["minio"])

    master = urlparse(api["HUB_SPARK_MASTER"])
    master_command = services["spark-master"]["command"]
    assert master_command[:2] == ["spark-class", "org.apache.spark.deploy.master.Master"]
    assert (master.scheme, master.hostname) == ("spark", _option(master_command, "--host"))
    assert master.port == int(_option(master_command, "--port"))
    assert services["spark-worker"]["command"][2] == api["HUB_SPARK_MASTER"]

    airflow = services["airflow-worker"]["environment"]
    execution_api = urlparse(airflow["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    apiserver_port = int(_option(services["airflow-apiserver"]["command"], "--port"))
    assert (execution_api.hostname, execution_api.port) == ("airflow-apiserver", apiserver_port)
    assert urlparse(airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    assert urlparse(airflow["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"


def test_airflow_and_the_api_share_the_audit_journal(services: dict[str, dict[str, Any]]) -> None:
    journal = Path(services["hub-api"]["environment"]["HUB_AUDIT_JOURNAL_DIR"])
    for name in ("hub-api", "airflow-worker", "airflow-scheduler"):
        service = services[name]
        assert service["environment"]["HUB_AUDIT_JOURNAL_DIR"] == str(journal)
        mounts = {Path(volume.split(":")[1]) for volume in service["volumes"]}
        assert any(journal.is_relative_to(mount) for mount in mounts), name


def test_the_image_holds_what_the_services_run(services: dict[str, dict[str, Any]]) -> None:
    dockerfile = (INFRA / "hub.Dockerfile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.MULTILINE))
    built = {service["build"]["target"] for service in services.values() if "build" in service}
    assert built <= targets
    hub_stage = dockerfile.split(" AS hub\n", 1)[1]
    copied = set(re.findall(r"^COPY (\S+) \1$", hub_stage, flags=re.MULTILINE))
    workdir = re.search(r"^WORKDIR (\S+)$", hub_stage, flags=re.MULTILINE)
    dags = Path(services["airflow-scheduler"]["environment"]["AIRFLOW__CORE__DAGS_FOLDER"])
    assert workdir
    assert dags == Path(workdir[1]) / "dags"
    assert {"hub", "jobs", "api", "quality", "contracts", "dags"} <= copied
    # The API serves the dashboard's ECharts, which a checkout does not hold.
    assert f"{ECHARTS_BUNDLE.relative_to(REPO_ROOT)}\n" in hub_stage

    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    pinned = re.search(r"^MINIO_MODULE_VERSION := (\S+)$", makefile, flags=re.MULTILINE)
    assert pinned
    assert f"MINIO_MODULE_VERSION={pinned[1]}" in dockerfile

    python = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"
    ]
    base = re.search(r"^FROM python:(\d+\.\d+)\.\d+-slim", dockerfile, flags=re.MULTILINE)
    assert base
    assert python == f"=={base[1]}.*"
