"""The hub's side of each department interface: pull a window's raw payloads, check each payload.

One class per interface kind in the registry (file_drop, object_store, rest_api, jdbc). Payloads
are returned as they came; `payload_problem` decides whether one can go to bronze or must be
rejected with a reason that names the problem (broken file, wrong encoding, schema drift).
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from pyspark.sql import functions as F

from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.storage import ObjectStore, bucket_store
from jobs.departments import DepartmentMapping, Interface
from jobs.landing import PullWindow, Source, SourceUnavailableError

JDBC_PART_ROWS = 50_000


class FileDropSource:
    """Files a department puts in <root>/<yyyy-mm-dd>/; a window takes its days' folders."""

    def __init__(self, root: Path, pattern: str) -> None:
        self.root, self.pattern = root, pattern

    def fetch(self, window: PullWindow) -> Iterator[tuple[str, bytes]]:
        found = False
        for day in window.days():
            folder = self.root / day.isoformat()
            for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                if fnmatch.fnmatch(path.name, self.pattern):
                    found = True
                    yield f"{day.isoformat()}/{path.name}", path.read_bytes()
        if not found:
            raise SourceUnavailableError(
                f"no export matching {self.pattern} under {self.root} for {window.days()}"
            )


class BucketSource:
    """Objects a department puts in its bucket under <prefix><yyyy-mm-dd>/."""

    def __init__(self, store: ObjectStore, prefix: str, pattern: str) -> None:
        self.store, self.prefix, self.pattern = store, prefix, pattern

    def fetch(self, window: PullWindow) -> Iterator[tuple[str, bytes]]:
        found = False
        for day in window.days():
            for key in self.store.list_keys(f"{self.prefix}{day.isoformat()}/"):
                name = key.rsplit("/", 1)[-1]
                if fnmatch.fnmatch(name, self.pattern):
                    found = True
                    yield f"{day.isoformat()}/{name}", self.store.get_bytes(key)
        if not found:
            raise SourceUnavailableError(
                f"no object matching {self.pattern} under {self.prefix} for {window.days()}"
            )


class RestApiSource:
    """A paginated HTTP API windowed by `updated_since` / `updated_before` in epoch milliseconds."""

    def __init__(self, url: str, page_size: int, timeout: float = 30.0) -> None:
        self.url, self.page_size, self.timeout = url, page_size, timeout

    def fetch(self, window: PullWindow) -> Iterator[tuple[str, bytes]]:
        params = {
            "updated_since": int(window.since.timestamp() * 1000),
            "updated_before": int(window.until.timestamp() * 1000),
            "page_size": self.page_size,
        }
        page, pages = 1, 1
        with httpx.Client(timeout=self.timeout) as client:
            while page <= pages:
                try:
                    response = client.get(self.url, params=params | {"page": page})
                except httpx.TransportError as error:
                    raise SourceUnavailableError(f"{self.url} unreachable: {error}") from error
                if response.status_code >= 500:
                    raise SourceUnavailableError(f"{self.url} answered {response.status_code}")
                response.raise_for_status()
                pages = max(1, int(response.json()["total_pages"]))
                yield f"page-{page:05d}.json", response.content
                page += 1


class JdbcSource:
    """A table read by Spark over JDBC, windowed on its update-time column; rows land as JSON Lines."""

    def __init__(self, settings: Settings, url: str, interface: Interface) -> None:
        if not (
            interface.driver and interface.table and interface.updated_column and interface.updated_format
        ):
            raise ValueError("a jdbc interface needs driver, table, updated_column and updated_format")
        self.settings, self.url, self.driver, self.table = settings, url, interface.driver, interface.table
        self.column, self.column_format = interface.updated_column, interface.updated_format

    def fetch(self, window: PullWindow) -> Iterator[tuple[str, bytes]]:
        from jobs.spark import get_spark

        since, until = (window.since.strftime(self.column_format), window.until.strftime(self.column_format))
        query = f"SELECT * FROM {self.table} WHERE {self.column} >= '{since}' AND {self.column} < '{until}'"
        spark = get_spark(self.settings)
        try:
            rows = (
                spark.read.format("jdbc")
                .option("url", self.url)
                .option("driver", self.driver)
                .option("query", query)
                .load()
            )
            # Null columns are written too: a department's field never vanishes from a record.
            as_json = F.to_json(F.struct("*"), {"ignoreNullFields": "false"})
            lines = (row[0] for row in rows.select(as_json).toLocalIterator())
        except Exception as error:  # the driver's SQLException arrives wrapped by Py4J
            raise SourceUnavailableError(
                f"could not read {self.table} over JDBC at {self.url}: {error}"
            ) from error
        part, chunk = 1, []
        for line in lines:
            chunk.append(line)
            if len(chunk) == JDBC_PART_ROWS:
                yield f"part-{part:05d}.json", ("\n".join(chunk) + "\n").encode("utf-8")
                part, chunk = part + 1, []
        if chunk or part == 1:
            yield f"part-{part:05d}.json", ("\n".join(chunk) + "\n" if chunk else "").encode("utf-8")


def interface_url(settings: Settings, mapping: DepartmentMapping) -> str:
    """The department's REST or JDBC address: HUB_SOURCE_URLS over the registry's."""
    url = settings.source_urls.get(mapping.department, mapping.interface.url or "")
    return url.replace("{sources}", str(settings.sources_dir))


def source_for(settings: Settings, mapping: DepartmentMapping) -> Source:
    interface = mapping.interface
    url = interface_url(settings, mapping)
    match interface.kind:
        case "file_drop":
            return FileDropSource(settings.sources_dir / mapping.department, mapping.file_pattern)
        case "object_store":
            if not interface.bucket:
                raise ValueError(f"{mapping.department}: an object_store interface needs a bucket")
            return BucketSource(
                bucket_store(settings, interface.bucket), interface.prefix, mapping.file_pattern
            )
        case "rest_api":
            return RestApiSource(url, interface.page_size)
        case "jdbc":
            return JdbcSource(settings, url, interface)
    raise ValueError(f"{mapping.department}: unknown interface kind {interface.kind!r}")


def _expected_top_level(mapping: DepartmentMapping) -> set[str]:
    nested_lists = {nested.path.split(".", 1)[0] for nested in mapping.nested.values()}
    return {source.split(".", 1)[0] for source in mapping.fields.values()} | nested_lists


def _drift(mapping: DepartmentMapping, present: set[str]) -> str | None:
    missing = sorted(_expected_top_level(mapping) - present)
    if not missing:
        return None
    unexpected = sorted(present - _expected_top_level(mapping) - set(mapping.unmapped_fields))
    return f"schema drift: expected field(s) {', '.join(missing)} missing" + (
        f"; unexpected field(s) {', '.join(unexpected)}" if unexpected else ""
    )


def _encoding_problem(mapping: DepartmentMapping, payload: bytes) -> tuple[str | None, str]:
    if mapping.encoding.lower() != "utf-8" and not payload.isascii():
        # UTF-8 Chinese can even decode as (wrong) GBK; valid UTF-8 gives the mistake away.
        try:
            payload.decode("utf-8")
            return f"wrong encoding: declared {mapping.encoding} but the file is UTF-8", ""
        except UnicodeDecodeError:
            pass
    try:
        return None, payload.decode(mapping.encoding)
    except UnicodeDecodeError as error:
        if error.end == len(payload):
            # Cut inside a multi-byte character: the file was truncated, not mis-encoded.
            return TRUNCATED, ""
        return f"wrong encoding: not valid {mapping.encoding} at byte {error.start}", ""


def _json_records(mapping: DepartmentMapping, text: str) -> tuple[str | None, list[dict[str, Any]]]:
    if mapping.format == "jsonl":
        records = []
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # one broken line is one bad row: silver quarantines it, the file stays
        return None, records
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return f"truncated or malformed JSON: {error.msg} at line {error.lineno}", []
    listed = document.get(mapping.records_path) if mapping.records_path else document
    if not isinstance(listed, list):
        return f"malformed: no list of records at {mapping.records_path or 'the top level'}", []
    return None, listed


TRUNCATED = "truncated: the file ends inside its last record"


def payload_problem(mapping: DepartmentMapping, name: str, payload: bytes) -> str | None:
    """Why a payload cannot be read as the department's declared format, or None when it can."""
    if not payload.strip():
        return None  # an empty page or part: nothing changed in the window
    problem, text = _encoding_problem(mapping, payload)
    if problem:
        return problem
    if mapping.format in ("csv", "jsonl") and not text.endswith("\n"):
        return TRUNCATED
    if mapping.format == "csv":
        return _drift(mapping, set(next(csv.reader(io.StringIO(text)), [])))
    problem, records = _json_records(mapping, text)
    if problem:
        return problem
    present: set[str] = set()
    for record in records:
        present.update(record)
    return _drift(mapping, present) if records else None


def holds_records(mapping: DepartmentMapping, payload: bytes) -> bool:
    """Whether a payload that passed `payload_problem` holds any record: a quiet day's export (a
    CSV header alone, an empty list) holds none."""
    _, text = _encoding_problem(mapping, payload)
    if mapping.format == "csv":
        return sum(1 for line in text.splitlines() if line.strip()) > 1
    if mapping.format == "jsonl":
        return any(line.strip() for line in text.splitlines())
    _, records = _json_records(mapping, text)
    return bool(records)


def local_window(day: dt.date, days: int = 1) -> PullWindow:
    """Whole days in the district's time zone."""
    start = dt.datetime.combine(day, dt.time(), DISTRICT_TIMEZONE)
    return PullWindow(start, start + dt.timedelta(days=days))
