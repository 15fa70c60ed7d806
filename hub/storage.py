"""Where bytes and tables live. Local filesystem by default; any S3-compatible store with HUB_STORAGE=s3.

Jobs and the API ask this module for an object store (landing zone) and for table locations
(lakehouse); nothing else in the hub knows which backend is in use.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from minio import Minio

from hub.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable


class StoreWriteError(RuntimeError):
    """An object could not be written: names the object's path (`file`, where the task failure
    callback looks for it) and the cause (a full disk, a denied permission, the store's error),
    which an OSError from a write alone often leaves out (its filename is None)."""

    def __init__(self, file: str, cause: BaseException) -> None:
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        super().__init__(f"could not write {file}: {reason}")
        self.file = file


class ObjectStore(Protocol):
    """The landing zone: raw department payloads, stored unchanged under a key."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def uri(self, key: str) -> str:
        """The URI Spark reads this object from."""
        ...


def is_missing_key(error: BaseException) -> bool:
    """Whether `get_bytes` failed because no object has the key, on either backend: the local
    store raises FileNotFoundError, the S3 SDK an S3Error with the key's code."""
    missing_codes = {"NoSuchKey", "NoSuchObject"}
    return isinstance(error, FileNotFoundError) or getattr(error, "code", None) in missing_codes


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        # Write then rename, so a reader never sees half a payload.
        partial = path.with_name(path.name + ".partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
            partial.replace(path)
        except OSError as error:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)  # what a full disk let through is no payload
            raise StoreWriteError(str(path), error) from error

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str) -> list[str]:
        """Keys starting with `prefix`, as S3 lists them (a prefix need not end at a folder)."""
        folder = prefix if prefix.endswith("/") else prefix.rpartition("/")[0]
        base = self.root / folder
        if not base.is_dir():
            return []
        keys = (
            str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file() and p.suffix != ".partial"
        )
        return sorted(k for k in keys if k.startswith(prefix))

    def uri(self, key: str) -> str:
        return self._path(key).resolve().as_uri()


class S3ObjectStore:
    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(self.bucket, key, io.BytesIO(data), length=len(data))
        except Exception as error:
            raise StoreWriteError(self.uri(key), error) from error

    def get_bytes(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
        except Exception as error:
            if is_missing_key(error):
                return False
            raise
        return True

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(
            obj.object_name
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            if obj.object_name is not None
        )

    def uri(self, key: str) -> str:
        return f"s3a://{self.bucket}/{key}"


def s3_client(settings: Settings) -> Minio:
    endpoint = urlparse(settings.s3_endpoint)
    return Minio(
        endpoint.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=endpoint.scheme == "https",
        region=settings.s3_region,
    )


def ensure_buckets(settings: Settings) -> None:
    """Create the landing and lake buckets when they are missing (S3 only; a no-op locally)."""
    if settings.storage != "s3":
        return
    client = s3_client(settings)
    for bucket in (settings.landing_bucket, settings.lake_bucket):
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)


def local_bucket_dir(settings: Settings, bucket: str) -> Path:
    """Where a bucket's objects are kept on local storage."""
    return settings.home / "buckets" / bucket


def bucket_store(settings: Settings, bucket: str) -> ObjectStore:
    """A bucket of the configured store: S3, or a folder under the hub's home locally.

    Creates the bucket on S3 when it is missing, so a first run needs no manual set-up.
    """
    if settings.storage == "s3":
        client = s3_client(settings)
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        return S3ObjectStore(client, bucket)
    return LocalObjectStore(local_bucket_dir(settings, bucket))


def landing_store(settings: Settings) -> ObjectStore:
    if settings.storage == "s3":
        return S3ObjectStore(s3_client(settings), settings.landing_bucket)
    return LocalObjectStore(settings.local_landing_dir)


def auth_store(settings: Settings) -> ObjectStore:
    """The API's client credentials and the departments' grants: the auth bucket on S3 (created
    when missing), or a folder under the hub's home locally, kept out of `buckets/`, which the demo
    clears on each run."""
    if settings.storage == "s3":
        return bucket_store(settings, settings.auth_bucket)
    return LocalObjectStore(settings.local_auth_dir)


def table_uri(settings: Settings, layer: str, table: str) -> str:
    """Location of a Delta table as Spark addresses it (file: or s3a:)."""
    if settings.storage == "s3":
        return f"s3a://{settings.lake_bucket}/{layer}/{table}"
    return (settings.local_lake_dir / layer / table).resolve().as_uri()


def delta_rs_location(settings: Settings, layer: str, table: str) -> tuple[str, dict[str, str]]:
    """Location and storage options of a Delta table as delta-rs (no JVM) addresses it."""
    if settings.storage == "s3":
        options = {
            "AWS_ENDPOINT_URL": settings.s3_endpoint,
            "AWS_ACCESS_KEY_ID": settings.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key,
            "AWS_REGION": settings.s3_region,
            "AWS_ALLOW_HTTP": "true" if settings.s3_endpoint.startswith("http://") else "false",
        }
        return f"s3://{settings.lake_bucket}/{layer}/{table}", options
    return str((settings.local_lake_dir / layer / table).resolve()), {}


def arrow_batches(delta_table: DeltaTable) -> pa.RecordBatchReader:
    """A Delta table's rows as Arrow batches in the table's own types, streamed.

    Read with delta-rs's engine (`DeltaTable.scan`), which reads deletion vectors, kept by gold's
    subject tables and case facts; its Arrow dataset refuses them. The engine hands strings over as
    string views, cast back so a reader sees the types the table declares."""
    import pyarrow as pa

    declared = pa.schema(delta_table.schema().to_arrow())
    return pa.RecordBatchReader.from_stream(delta_table.scan()).cast(declared)


def read_table_rows(settings: Settings, layer: str, table: str) -> list[dict[str, Any]]:
    """A small Delta table as Python rows, read with delta-rs (no JVM): for reports and checks."""
    from deltalake import DeltaTable

    location, options = delta_rs_location(settings, layer, table)
    rows: list[dict[str, Any]] = (
        arrow_batches(DeltaTable(location, storage_options=options)).read_all().to_pylist()
    )
    return rows
