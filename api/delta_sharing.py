"""The Delta Sharing server's state, without FastAPI: the shares, the recipients, the suppressed
snapshots of the shared marts and the links recipients download them by.

A query answers with one Parquet file per table: the mart's rows at a gold version with small
cells suppressed (`hub.sharing.write_snapshot`), written once per version and kept in memory by
its key, and linked like a material file: presigned on S3, signed by the API on local storage.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path

from api.downloads import DownloadLink, PresignedMaterialFiles, SignedLocalMaterialFiles
from hub.settings import Settings
from hub.sharing import (
    Recipient,
    RecipientRegistry,
    SharedTable,
    Shares,
    Snapshot,
    load_shares,
    mart_version,
    token_name,
    write_snapshot,
)
from hub.storage import auth_store, s3_client

PREFIX = "/delta-sharing"
LOCAL_FILES_PATH = f"{PREFIX}/files"
# Separates these links' signatures from the material files' and from tokens.
LINK_KEY_CONTEXT = b"approval-hub shared mart files"
TABLE_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "approval-hub/delta-sharing")


def table_id(table: SharedTable) -> str:
    """A stable id per shared table (the protocol's metaData id)."""
    return str(uuid.uuid5(TABLE_ID_NAMESPACE, f"{table.share}.{table.schema}.{table.name}"))


class SharingServer:
    def __init__(self, settings: Settings, signing_key: str) -> None:
        self.settings = settings
        # Loaded now: a share of anything but a shareable analyst mart stops the API's start.
        self.shares: Shares = load_shares(settings.sharing_config)
        self.recipients = RecipientRegistry(auth_store(settings), self.shares)
        lifetime = dt.timedelta(seconds=settings.sharing_link_seconds)
        self.files: PresignedMaterialFiles | SignedLocalMaterialFiles
        if settings.storage == "s3":
            self.files = PresignedMaterialFiles(s3_client(settings), settings.lake_bucket, lifetime)
        else:
            root: Path = settings.local_lake_dir / "sharing"
            self.files = SignedLocalMaterialFiles(
                root, signing_key.encode(), lifetime, context=LINK_KEY_CONTEXT, files_path=LOCAL_FILES_PATH
            )
        self._snapshots: dict[tuple[str, int, int], Snapshot] = {}
        self._lock = threading.Lock()

    def recipient(self, token: str) -> Recipient:
        """The recipient the bearer token stands for, read afresh (a revocation applies at once);
        InvalidSharingTokenError otherwise."""
        return self.recipients.authenticate(token, self.recipients.get(token_name(token)))

    def version(self, table: SharedTable) -> int:
        return mart_version(self.settings, table.name)

    def snapshot(self, table: SharedTable, version: int) -> Snapshot:
        key = (table.name, version, self.settings.small_cell_k)
        with self._lock:
            known = self._snapshots.get(key)
        if known is not None:
            return known
        written = write_snapshot(self.settings, table.name, version)
        with self._lock:
            self._snapshots[key] = written
        return written

    def link(self, snapshot: Snapshot, api_base_url: str) -> DownloadLink:
        link = self.files.link(snapshot.key, api_base_url)
        if link is None:
            raise FileNotFoundError(snapshot.key)
        return link
