"""Short-lived download links to material files, so a window fetches a file without the API
streaming it and without holding storage credentials.

On S3 (MinIO) a link is a presigned GET URL of the object: the store checks its signature and
expiry, and nothing else can be fetched with it. Local storage has no presigned URLs, so the API
signs a link of its own the same way (HMAC-SHA256 over the object key and the expiry) and serves
the file at `/v1/material-files/{key}` to whoever presents a valid, unexpired link: local and S3
deployments behave alike, by configuration only. Handing out a link is what is audited; fetching
it is not, on either store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode

from minio import Minio

from hub.credentials import Clock, utc_now
from hub.settings import Settings
from hub.storage import is_missing_key, local_bucket_dir, s3_client

LOCAL_FILES_PATH = "/v1/material-files"
# Separates this use of the API's signing key from signing tokens: a link's signature is never a
# token's, nor the other way round.
LINK_KEY_CONTEXT = b"approval-hub material file links"


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: dt.datetime


class MaterialFiles(Protocol):
    lifetime: dt.timedelta

    def link(self, object_key: str, api_base_url: str) -> DownloadLink | None:
        """A link to the file under `object_key`, valid for `lifetime`; None when no file has the
        key. `api_base_url` is where this API is reached, for links the API serves itself."""
        ...


class PresignedMaterialFiles:
    """Material files in a bucket of the S3 store, fetched through presigned GET URLs."""

    def __init__(self, client: Minio, bucket: str, lifetime: dt.timedelta, clock: Clock = utc_now) -> None:
        self.client = client
        self.bucket = bucket
        self.lifetime = lifetime
        self.clock = clock

    def link(self, object_key: str, api_base_url: str) -> DownloadLink | None:
        try:
            # A link to nothing would fail at the window with the store's XML error instead of a reason.
            self.client.stat_object(self.bucket, object_key)
        except Exception as error:
            if is_missing_key(error) or getattr(error, "code", None) == "NoSuchBucket":
                return None
            raise
        now = self.clock()
        url = self.client.presigned_get_object(
            self.bucket, object_key, expires=self.lifetime, request_date=now
        )
        return DownloadLink(url, now + self.lifetime)


class LinkRefusedError(Exception):
    """A local link that opens nothing; the message is safe to tell its holder."""


class SignedLocalMaterialFiles:
    """Material files in a folder, fetched through links the API signs and serves itself."""

    def __init__(
        self,
        root: Path,
        key: bytes,
        lifetime: dt.timedelta,
        clock: Clock = utc_now,
        *,
        context: bytes = LINK_KEY_CONTEXT,
        files_path: str = LOCAL_FILES_PATH,
    ) -> None:
        """Files under `root`, served at `files_path`; `context` keeps links of one use of the
        key (material files, shared marts) from opening another's."""
        self.root = root
        self._key = hmac.new(key, context, hashlib.sha256).digest()
        self.lifetime = lifetime
        self.clock = clock
        self.files_path = files_path

    def signature(self, object_key: str, expires: int) -> str:
        message = f"{object_key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def path(self, object_key: str) -> Path | None:
        """The file's path, or None for a key that would leave the folder."""
        root = self.root.resolve()
        path = (root / object_key).resolve()
        return path if path.is_relative_to(root) and path != root else None

    def link(self, object_key: str, api_base_url: str) -> DownloadLink | None:
        path = self.path(object_key)
        if path is None or not path.is_file():
            return None
        expires_at = self.clock() + self.lifetime
        expires = int(expires_at.timestamp())
        query = urlencode({"expires": expires, "signature": self.signature(object_key, expires)})
        url = f"{api_base_url.rstrip('/')}{self.files_path}/{quote(object_key)}?{query}"
        return DownloadLink(url, dt.datetime.fromtimestamp(expires, dt.UTC))

    def open(self, object_key: str, expires: int, signature: str) -> Path:
        """The file a link names, once its signature and expiry are checked."""
        # As bytes: compare_digest refuses text that is not ASCII, and a link may hold anything.
        if not hmac.compare_digest(signature.encode(), self.signature(object_key, expires).encode()):
            raise LinkRefusedError("the link's signature is not valid")
        if expires <= self.clock().timestamp():
            raise LinkRefusedError("the link has expired; ask the API for a new one")
        path = self.path(object_key)
        if path is None or not path.is_file():
            raise FileNotFoundError(object_key)
        return path


def material_files(settings: Settings, signing_key: str) -> PresignedMaterialFiles | SignedLocalMaterialFiles:
    lifetime = dt.timedelta(seconds=settings.material_link_seconds)
    if settings.storage == "s3":
        return PresignedMaterialFiles(s3_client(settings), settings.materials_bucket, lifetime)
    root = local_bucket_dir(settings, settings.materials_bucket)
    return SignedLocalMaterialFiles(root, signing_key.encode(), lifetime)
