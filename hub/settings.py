"""The hub's one settings class. Every value can be set with an environment variable prefixed HUB_."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# The district's time: data intervals, working days and source timestamps are all local to it.
DISTRICT_TIMEZONE = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    # Where local state lives: generated department drops, the local lakehouse, Airflow's home.
    home: Path = REPO_ROOT / ".hub"

    # "local": landing zone and lakehouse on the local filesystem under `home`.
    # "s3": both in S3-compatible object storage (MinIO in tests and production).
    storage: Literal["local", "s3"] = "local"
    s3_endpoint: str = "http://127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    landing_bucket: str = "hub-landing"
    lake_bucket: str = "hub-lake"
    # The API's client credentials and the departments' grants, in a bucket of their own so access
    # to it can be restricted apart from the lake's.
    auth_bucket: str = "hub-auth"
    # The files of the materials applicants handed in, each under its `file_object_key`.
    materials_bucket: str = "hub-materials"

    # Department mappings (fields and code values to the contracts); a folder of YAML files.
    mappings_dir: Path = REPO_ROOT / "contracts" / "mappings"

    # Per-department override of the registry's interface URL (REST base or JDBC URL), e.g.
    # HUB_SOURCE_URLS='{"housing_construction": "http://10.0.0.5/api/v1/cases"}'.
    source_urls: dict[str, str] = Field(default_factory=dict)

    # Airflow task retries (with exponential back-off from the first delay).
    task_retries: int = Field(default=2, ge=0)
    task_retry_delay_seconds: float = Field(default=20.0, gt=0)
    # Fault points (hub/faults.py), comma-separated, each failing once right after its table's
    # commit: how the tests prove a retried task recovers from partial work. Empty in production.
    fault_once: str = ""

    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 4
    jars_dir: Path = REPO_ROOT / ".hub" / "jars"

    # How far back every lakehouse table keeps its history (time travel, restore) for audits.
    audit_retention_days: int = Field(default=90, ge=7)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Processes `hub serve` answers with, at most one per core. Each holds its own snapshot of gold
    # (memory times N), audit segment, caches, metrics and the progress query's limits on wrong
    # verification codes (so N times as many wrong guesses pass before a wait).
    api_workers: int = Field(default=1, ge=1)
    # How often the API checks the gold table for a new version, in seconds.
    api_refresh_seconds: float = Field(default=5.0, ge=0.0)
    # HS256 key the API signs its access tokens with. Unset, the API makes a random one at start,
    # so its tokens die with the process (and one replica cannot check another's). HS256 wants a
    # key at least as long as its 32-byte hash.
    token_signing_key: SecretStr | None = Field(default=None, min_length=32)
    # Access tokens are short-lived: a leaked one is useful for minutes, not days.
    token_lifetime_seconds: int = Field(default=900, ge=1, le=3600)
    # How long the API trusts what it read about a client (revoked or not); a revocation takes
    # effect within this many seconds without a storage read per request.
    credential_cache_seconds: float = Field(default=5.0, ge=0.0)
    # Likewise for a department's grants: a new or revoked grant applies within this many seconds.
    grant_cache_seconds: float = Field(default=5.0, ge=0.0)
    # Where the API journals an audit record of each request for subject data before answering
    # it; unset, `audit/journal` under the home. On a disk that outlives the API's process and
    # host, and reachable by whoever runs `hub audit ship`.
    audit_journal_dir: Path | None = None
    # A journal segment is sealed (and can be shipped to the lake) at this size or age, whichever
    # comes first, and when the API stops.
    audit_segment_max_bytes: int = Field(default=16 * 1024 * 1024, ge=4096)
    audit_segment_max_seconds: float = Field(default=600.0, gt=0.0)
    # Where the API journals the windows' reuse events (`POST /v1/reuse-events`) before answering;
    # unset, `feedback/journal` under the home. Sealed, shipped and kept like the audit journal's.
    feedback_journal_dir: Path | None = None
    # How long a material download link the API hands out works: long enough to fetch one file,
    # short enough that a link copied out of a window's system soon stops opening it.
    material_link_seconds: int = Field(default=300, ge=1, le=3600)
    # The key of the HMAC-SHA256 that stands for a case's verification code (查询码) in silver and
    # gold, so the code itself never leaves bronze. The Spark jobs and the API must hold the same
    # key; the default is for a developer's machine only. Changing it makes every stored HMAC stale
    # until silver's cases are conformed again from bronze.
    case_code_key: SecretStr = Field(default=SecretStr("dev-only-case-code-key-do-not-deploy"), min_length=32)
    # Small-cell suppression: an aggregate covering fewer applicants than this is not shown to
    # analysts (dashboard, report, shared marts), since a count of one or two can point at a person.
    small_cell_k: int = Field(default=10, ge=2)
    # The shares of analyst marts served over Delta Sharing (share -> schema -> marts).
    sharing_config: Path = REPO_ROOT / "contracts" / "sharing.yaml"
    # How long a link to a shared mart's file works: the client fetches it right after its query.
    sharing_link_seconds: int = Field(default=300, ge=1, le=3600)

    # The hub's own log lines (API, jobs, CLI): "text" for a person at a terminal, "json" (one object
    # per line, with the request id, department, batch...) for a log collector.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Bearer token a Prometheus scraper sends to read the API's /metrics. Unset, /metrics is open:
    # it holds counts by department and endpoint, no subject data, and is meant to be reached only
    # from the internal network the scraper is on.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)

    @property
    def sources_dir(self) -> Path:
        """Where the department simulator drops what each department system exports."""
        return self.home / "sources"

    def catalogue_file(self, table: str) -> Path:
        """A table of the government service office's item catalogue (the items, their requirement
        standards), as it publishes it: JSON Lines in the contract's own fields."""
        return self.sources_dir / "government_service_office" / f"{table}.jsonl"

    @property
    def local_landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def local_lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def local_auth_dir(self) -> Path:
        return self.home / "auth"

    @property
    def audit_journal(self) -> Path:
        return self.audit_journal_dir or self.home / "audit" / "journal"

    @property
    def feedback_journal(self) -> Path:
        return self.feedback_journal_dir or self.home / "feedback" / "journal"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def gx_docs_dir(self) -> Path:
        return self.home / "data-docs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
