"""Delta Sharing of the analyst marts: which shares exist, who may read them, and the suppressed
snapshots they are read from. No FastAPI here; `api/routes/delta_sharing.py` speaks the protocol.

Shares (`contracts/sharing.yaml`, `HUB_SHARING_CONFIG`): share -> schema -> tables, each table an
analyst mart (`hub/analyst_marts.py`). Loading refuses anything else, and a mart whose grain holds a
field the contracts do not share unconditionally (an officer's identity, a subject id): what leaves
the hub must be what any department may see, and aggregated.

Recipients: one JSON object per recipient in the auth store, `sharing/recipients/<name>.json`,
with its one share, when its token expires, and the SHA-256 of the token; the token itself is in
the profile file `hub sharing add-recipient` writes, and nowhere else. A token is `<name>.<secret>`
(256 random bits), so the API finds its recipient in one read; being random, not chosen by a
person, SHA-256 suffices where a client secret needs argon2.

Snapshots: a shared mart is never served from its gold files (they hold small cells); it is read
through `load_mart` (suppressed) and written once per gold version and k as a Parquet file under
the lake's `sharing/` area, which recipients download by a short-lived link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from hub.analyst_marts import ANALYST_MARTS, AnalystMart, load_mart, mart_location
from hub.credentials import Clock, utc_now
from hub.settings import Settings
from hub.storage import LocalObjectStore, ObjectStore, S3ObjectStore, auth_store, is_missing_key, s3_client

RECIPIENTS_PREFIX = "sharing/recipients/"
# Names end up in storage keys and tokens: no "/", no ".", nothing to escape.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SHARE_CREDENTIALS_VERSION = 1
MAX_RECIPIENT_DAYS = 366
SNAPSHOTS_AREA = "sharing"


class SharingConfigError(ValueError):
    """The shares file is malformed or shares what must not leave the hub; names the file."""


@dataclass(frozen=True)
class SharedTable:
    share: str
    schema: str
    name: str  # the analyst mart's name


@dataclass(frozen=True)
class Shares:
    """share -> schema -> table names, in the file's order."""

    shares: Mapping[str, Mapping[str, tuple[str, ...]]]

    def tables(self, share: str, schema: str | None = None) -> list[SharedTable]:
        schemas = self.shares.get(share, {})
        return [
            SharedTable(share, s, t)
            for s, tables in schemas.items()
            if schema is None or s == schema
            for t in tables
        ]

    def table(self, share: str, schema: str, name: str) -> SharedTable | None:
        found = [t for t in self.tables(share, schema) if t.name == name]
        return found[0] if found else None


def _contract_fields() -> dict[str, list[tuple[str, str, bool]]]:
    """Every contract field by name: (contract, sharing class, personal data)."""
    from quality.contracts import CONTRACTS_DIR, load_contract

    fields: dict[str, list[tuple[str, str, bool]]] = {}
    for path in sorted(CONTRACTS_DIR.glob("*.odcs.yaml")):
        contract = load_contract(path.name.removesuffix(".odcs.yaml"))
        for f in contract.fields:
            fields.setdefault(f.name, []).append((contract.name, f.sharing_class, f.personal_data))
    return fields


def withheld_grain(mart: AnalystMart) -> list[str]:
    """The mart's grain columns that hold a contract field not shared unconditionally, or personal
    data, each with the field it holds: such a mart cannot leave the hub."""
    fields = _contract_fields()
    sources = dict(mart.grain_sources)
    found = []
    for column in mart.grain:
        contract, _, name = sources.get(column, f".{column}").rpartition(".")
        for owner, sharing_class, personal in fields.get(name, []):
            if (not contract or owner == contract) and (sharing_class != "unconditional" or personal):
                found.append(f"{column} ({owner}.{name} is {sharing_class})")
    return found


def parse_shares(document: Any, source: str) -> Shares:
    """Shares from the parsed YAML; `source` names the file in every error."""
    if not isinstance(document, dict) or not isinstance(document.get("shares"), dict):
        raise SharingConfigError(f"{source}: expected a mapping 'shares: {{share: {{schema: [tables]}}}}'")
    shares: dict[str, dict[str, tuple[str, ...]]] = {}
    for share, schemas in document["shares"].items():
        if not NAME_PATTERN.fullmatch(str(share)) or not isinstance(schemas, dict) or not schemas:
            raise SharingConfigError(f"{source}: share {share!r} needs a lower-case name and schemas")
        shares[share] = {}
        for schema, tables in schemas.items():
            if not NAME_PATTERN.fullmatch(str(schema)) or not isinstance(tables, list) or not tables:
                raise SharingConfigError(f"{source}: {share}.{schema} needs a lower-case name and tables")
            for table in tables:
                mart = ANALYST_MARTS.get(str(table))
                if mart is None:
                    raise SharingConfigError(
                        f"{source}: {share}.{schema}.{table} is not an analyst mart; only these may "
                        f"be shared: {', '.join(ANALYST_MARTS)}"
                    )
                withheld = withheld_grain(mart)
                if withheld:
                    raise SharingConfigError(
                        f"{source}: {share}.{schema}.{table} may not be shared: its rows name "
                        f"{', '.join(withheld)}"
                    )
            shares[share][schema] = tuple(str(t) for t in tables)
    return Shares(shares)


def load_shares(path: Path) -> Shares:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SharingConfigError(f"{path}: {error}") from error
    return parse_shares(document, str(path))


# Recipients


class InvalidSharingTokenError(Exception):
    """A token that opens nothing; the message is safe to tell its holder."""


class UnknownShareError(ValueError):
    pass


class RecipientExistsError(ValueError):
    pass


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class Recipient:
    name: str
    share: str
    token_hash: str = field(repr=False)
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "name": self.name,
                "share": self.share,
                "token_sha256": self.token_hash,
                "created_at": _iso(self.created_at),
                "expires_at": _iso(self.expires_at),
                "revoked_at": _iso(self.revoked_at) if self.revoked_at else None,
            },
            indent=2,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Recipient:
        record = json.loads(data)
        revoked = record.get("revoked_at")
        return cls(
            name=record["name"],
            share=record["share"],
            token_hash=record["token_sha256"],
            created_at=dt.datetime.fromisoformat(record["created_at"]),
            expires_at=dt.datetime.fromisoformat(record["expires_at"]),
            revoked_at=dt.datetime.fromisoformat(revoked) if revoked else None,
        )


@dataclass(frozen=True)
class NewRecipient:
    """What `add` returns: the only time the token exists outside the profile file."""

    recipient: Recipient
    token: str = field(repr=False)

    def profile(self, endpoint: str) -> dict[str, Any]:
        """The Delta Sharing profile file's content (shareCredentialsVersion 1)."""
        expires = self.recipient.expires_at.astimezone(dt.UTC)
        return {
            "shareCredentialsVersion": SHARE_CREDENTIALS_VERSION,
            "endpoint": endpoint.rstrip("/"),
            "bearerToken": self.token,
            "expirationTime": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }


def write_profile(path: Path, content: Mapping[str, Any]) -> None:
    """Write a profile file readable by its owner only: it holds the token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _key(name: str) -> str:
    return f"{RECIPIENTS_PREFIX}{name}.json"


class RecipientRegistry:
    def __init__(self, store: ObjectStore, shares: Shares, clock: Clock = utc_now) -> None:
        self.store = store
        self.shares = shares
        self.clock = clock

    def add(self, name: str, share: str, days: int) -> NewRecipient:
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"recipient name {name!r}: lower-case letters, digits, '-' and '_', up to 64")
        if share not in self.shares.shares:
            raise UnknownShareError(f"no share {share!r}; the shares are: {', '.join(self.shares.shares)}")
        if not 1 <= days <= MAX_RECIPIENT_DAYS:
            raise ValueError(f"a token lasts 1 to {MAX_RECIPIENT_DAYS} days, not {days}")
        if self.get(name) is not None:
            raise RecipientExistsError(f"recipient {name!r} exists; revoke it or choose another name")
        token = f"{name}.{secrets.token_urlsafe(32)}"
        # Whole seconds: the profile file states the expiry to the second.
        now = self.clock().replace(microsecond=0)
        recipient = Recipient(name, share, _token_hash(token), now, now + dt.timedelta(days=days))
        self.store.put_bytes(_key(name), recipient.to_json())
        return NewRecipient(recipient, token)

    def get(self, name: str) -> Recipient | None:
        if not NAME_PATTERN.fullmatch(name):
            return None
        try:
            return Recipient.from_json(self.store.get_bytes(_key(name)))
        except Exception as error:
            if is_missing_key(error):
                return None
            raise

    def authenticate(self, token: str, recipient: Recipient | None) -> Recipient:
        """The recipient `token` stands for (`recipient` as read for the token's name), or
        InvalidSharingTokenError with the reason."""
        if recipient is None or not hmac.compare_digest(
            _token_hash(token).encode(), recipient.token_hash.encode()
        ):
            raise InvalidSharingTokenError("the bearer token is not a recipient's token")
        if recipient.revoked_at is not None:
            raise InvalidSharingTokenError("the recipient's token has been revoked")
        if recipient.expires_at <= self.clock():
            raise InvalidSharingTokenError(
                f"the recipient's token expired at {_iso(recipient.expires_at)}; ask for a new profile"
            )
        return recipient

    def revoke(self, name: str) -> Recipient:
        recipient = self.get(name)
        if recipient is None:
            raise LookupError(f"no recipient {name!r}")
        if recipient.revoked_at is None:
            recipient = replace(recipient, revoked_at=self.clock())
            self.store.put_bytes(_key(name), recipient.to_json())
        return recipient

    def list_recipients(self) -> list[Recipient]:
        found = [
            Recipient.from_json(self.store.get_bytes(key))
            for key in self.store.list_keys(RECIPIENTS_PREFIX)
            if key.endswith(".json")
        ]
        return sorted(found, key=lambda r: (r.created_at, r.name))


def token_name(token: str) -> str:
    """The recipient name a token carries before its secret ("" when it has none)."""
    name, dot, _ = token.partition(".")
    return name if dot else ""


def recipient_registry(settings: Settings, clock: Clock = utc_now) -> RecipientRegistry:
    return RecipientRegistry(auth_store(settings), load_shares(settings.sharing_config), clock)


# Snapshots


@dataclass(frozen=True)
class Snapshot:
    """A shared mart's suppressed rows at one gold version, as the Parquet file recipients fetch."""

    key: str  # in the snapshot store
    version: int
    schema: pa.Schema
    size: int
    rows: int
    suppressed: int


def snapshot_store(settings: Settings) -> tuple[ObjectStore, str]:
    """Where snapshots are written, and the prefix of their keys: the lake's `sharing/` area (a
    folder of its own locally, so a signed link can name nothing else)."""
    if settings.storage == "s3":
        return S3ObjectStore(s3_client(settings), settings.lake_bucket), f"{SNAPSHOTS_AREA}/"
    return LocalObjectStore(settings.local_lake_dir / SNAPSHOTS_AREA), ""


def mart_version(settings: Settings, name: str) -> int:
    """The mart's latest gold version; deltalake's TableNotFoundError while it was never built."""
    from deltalake import DeltaTable

    location, options = mart_location(settings, name)
    version: int = DeltaTable(location, storage_options=options).version()
    return version


def write_snapshot(settings: Settings, name: str, version: int) -> Snapshot:
    """The mart at `version`, suppressed with the settings' k, written as Parquet (again, if
    another process already did: the same rows give the same file)."""
    from hub.analyst_marts import SUPPRESSED

    store, prefix = snapshot_store(settings)
    table = load_mart(settings, name, version)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    # Keyed by k too: a new threshold must not serve files cut with the old one.
    key = f"{prefix}{name}/v{version:020d}-k{settings.small_cell_k}.parquet"
    store.put_bytes(key, data)
    suppressed = sum(table[SUPPRESSED].to_pylist())
    return Snapshot(key, version, table.schema, len(data), table.num_rows, suppressed)


def delta_schema_string(schema: pa.Schema) -> str:
    """The table schema as the protocol's metaData carries it (Delta's JSON schema)."""
    from deltalake import Schema

    text: str = Schema.from_arrow(schema).to_json()
    return text
