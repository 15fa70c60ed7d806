"""Client credentials of the departments that call the API (the OAuth2 client credentials grant).

One JSON object per client in the auth store, `credentials/<client_id>.json`: the department the
client belongs to, the argon2 hash of its secret, when it was created and revoked, and a note.
The secret itself is handed out once, by `create`, and never stored.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from hub.settings import Settings
from hub.storage import ObjectStore, auth_store, is_missing_key

CREDENTIALS_PREFIX = "credentials/"
# A client id names its department, for whoever reads a log, and 64 random bits. Its strict form
# keeps a client id from the network safe to use in a storage key (no "/", no "..").
CLIENT_ID_PATTERN = re.compile(r"[a-z0-9_]{1,64}-[0-9a-f]{16}")

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UnknownDepartmentError(ValueError):
    pass


class UnknownClientError(LookupError):
    pass


@dataclass(frozen=True)
class Credential:
    client_id: str
    department: str
    secret_hash: str = field(repr=False)
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    note: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "client_id": self.client_id,
                "department": self.department,
                "secret_hash": self.secret_hash,
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
                "note": self.note,
            },
            ensure_ascii=False,
            indent=2,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Credential:
        record = json.loads(data)
        revoked_at = record.get("revoked_at")
        return cls(
            client_id=record["client_id"],
            department=record["department"],
            secret_hash=record["secret_hash"],
            created_at=dt.datetime.fromisoformat(record["created_at"]),
            revoked_at=dt.datetime.fromisoformat(revoked_at) if revoked_at else None,
            note=record.get("note", ""),
        )


@dataclass(frozen=True)
class NewCredential:
    """What `create` returns: the only time the secret exists outside the client."""

    credential: Credential
    secret: str = field(repr=False)

    @property
    def client_id(self) -> str:
        return self.credential.client_id


def _key(client_id: str) -> str:
    return f"{CREDENTIALS_PREFIX}{client_id}.json"


class CredentialRegistry:
    def __init__(
        self,
        store: ObjectStore,
        departments: Collection[str],
        clock: Clock = utc_now,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.store = store
        self.departments = frozenset(departments)
        self.clock = clock
        # RFC 9106's profile for servers short of memory: 64 MiB and three passes per hash.
        self.hasher = hasher or PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)

    @cached_property
    def _unknown_client_hash(self) -> str:
        # A secret presented for an unknown client id is checked against this hash (which nothing
        # matches), so it costs what a wrong secret costs and timing does not tell which ids exist.
        # Made on first use: hashing is deliberately slow, and most CLI commands never verify.
        return self.hasher.hash(secrets.token_urlsafe(32))

    def create(self, department: str, note: str = "") -> NewCredential:
        if department not in self.departments:
            known = ", ".join(sorted(self.departments))
            raise UnknownDepartmentError(f"unknown department {department!r}; the registry has: {known}")
        secret = secrets.token_urlsafe(32)
        credential = Credential(
            client_id=f"{department}-{secrets.token_hex(8)}",
            department=department,
            secret_hash=self.hasher.hash(secret),
            created_at=self.clock(),
            note=note,
        )
        self.store.put_bytes(_key(credential.client_id), credential.to_json())
        return NewCredential(credential, secret)

    def get(self, client_id: str) -> Credential | None:
        """The stored credential, revoked or not; None for an id that is unknown or malformed."""
        if not CLIENT_ID_PATTERN.fullmatch(client_id):
            return None
        try:
            return Credential.from_json(self.store.get_bytes(_key(client_id)))
        except Exception as error:
            if is_missing_key(error):
                return None
            raise

    def verify(self, client_id: str, secret: str) -> Credential | None:
        """The client's credential when the secret is its own and it is not revoked, else None.

        argon2's verify compares in constant time, and it runs whether or not the client exists.
        """
        credential = self.get(client_id)
        try:
            self.hasher.verify(credential.secret_hash if credential else self._unknown_client_hash, secret)
        except (VerificationError, InvalidHashError):
            return None
        if credential is None or not credential.active:
            return None
        return credential

    def revoke(self, client_id: str) -> Credential:
        """Revoke a client; revoking it again keeps the first revocation's time."""
        credential = self.get(client_id)
        if credential is None:
            raise UnknownClientError(f"no client {client_id!r} in the registry")
        if credential.active:
            credential = replace(credential, revoked_at=self.clock())
            self.store.put_bytes(_key(client_id), credential.to_json())
        return credential

    def list_credentials(self) -> list[Credential]:
        """Every client, revoked ones included, oldest first."""
        credentials = [
            Credential.from_json(self.store.get_bytes(key))
            for key in self.store.list_keys(CREDENTIALS_PREFIX)
            if key.endswith(".json")
        ]
        return sorted(credentials, key=lambda c: (c.created_at, c.client_id))


def credential_registry(settings: Settings, clock: Clock = utc_now) -> CredentialRegistry:
    """The registry in the configured store, for the departments in the department registry."""
    from jobs.departments import department_names

    return CredentialRegistry(auth_store(settings), department_names(), clock)
