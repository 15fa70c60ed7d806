"""Land a department's export unchanged in the landing zone, with a checksum manifest.

Landing is plain Python (no Spark): it moves bytes. Re-landing the same files is a no-op, so an
Airflow retry or a re-run of the same data interval changes nothing.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from hub.storage import ObjectStore


@dataclass(frozen=True)
class LandedFile:
    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class LandedBatch:
    department: str
    batch_id: str
    files: list[LandedFile]
    landed_at: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


def batch_id_for(department: str, day: dt.date) -> str:
    return f"{department}-{day:%Y%m%d}"


def land_export(
    store: ObjectStore, source_dir: Path, department: str, day: dt.date, file_pattern: str
) -> LandedBatch:
    """Copy the department's files for `day` into the landing zone and write their manifest."""
    export_dir = source_dir / department / day.isoformat()
    prefix = f"{department}/{day.isoformat()}"
    manifest_key = f"{prefix}/_manifest.json"
    if store.exists(manifest_key):
        existing = json.loads(store.get_bytes(manifest_key))
        return LandedBatch(
            existing["department"],
            existing["batch_id"],
            [LandedFile(**f) for f in existing["files"]],
            existing["landed_at"],
        )
    sources = (
        sorted(p for p in export_dir.glob("*") if fnmatch.fnmatch(p.name, file_pattern))
        if export_dir.is_dir()
        else []
    )
    if not sources:
        raise FileNotFoundError(f"{department}: no export matching {file_pattern} in {export_dir}")
    files = []
    for path in sources:
        payload = path.read_bytes()
        key = f"{prefix}/{path.name}"
        store.put_bytes(key, payload)
        files.append(LandedFile(key, hashlib.sha256(payload).hexdigest(), len(payload)))
    batch = LandedBatch(
        department,
        batch_id_for(department, day),
        files,
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    # The manifest is written last: its presence means the whole batch landed.
    store.put_bytes(manifest_key, batch.to_json().encode("utf-8"))
    return batch
