"""The grant registry: which department may read other departments' conditional data, for which
purpose, until when, and on what basis.

The contracts give every field a sharing class. Unconditional fields go to every department and
not-shared ones only to the department that reported them; a conditional field goes to another
department only while it holds a grant for the purpose it states (`purpose` in
contracts/code_lists.yaml). A grant says whether personal data comes unmasked, names who approved
it and the document it rests on, and is valid for a span of days; one expired or revoked grants
nothing, and it is kept, so which grants were in force on a past day can still be answered.

One JSON object per grant in the auth store, beside the API's client credentials:
`grants/<department>/<grant_id>.json`, so a department's grants are one listing of its prefix.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from hub.credentials import Clock, UnknownDepartmentError, utc_now
from hub.settings import DISTRICT_TIMEZONE, Settings
from hub.storage import ObjectStore, auth_store, is_missing_key

GRANTS_PREFIX = "grants/"
PURPOSE_CODE_LIST = "purpose"
# department-purpose-64 random bits: readable in a log, and the department in it locates the
# object. Department and purpose codes have no "-", so the parts split unambiguously; the strict
# form keeps an id typed at the CLI safe in a storage key.
GRANT_ID_PATTERN = re.compile(r"(?P<department>[a-z0-9_]{1,64})-(?P<purpose>[a-z0-9_]{1,64})-[0-9a-f]{16}")

GrantStatus = Literal["active", "not_yet_valid", "expired", "revoked"]


class UnknownPurposeError(ValueError):
    pass


class UnknownGrantError(LookupError):
    pass


def purposes() -> frozenset[str]:
    """The purposes a department may state: the `purpose` code list."""
    from quality.contracts import load_code_lists

    return load_code_lists()[PURPOSE_CODE_LIST]


def district_day(instant: dt.datetime) -> dt.date:
    return instant.astimezone(DISTRICT_TIMEZONE).date()


@dataclass(frozen=True)
class Grant:
    grant_id: str
    department: str  # the grantee: the department whose clients it opens data to
    purpose: str
    unmasked: bool  # personal data comes unmasked
    valid_from: dt.date  # first day, district time
    valid_until: dt.date | None  # last day, inclusive; None: until revoked
    approved_by: str
    basis: str  # the legal basis or agreement, e.g. a document number
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def status(self, at: dt.datetime) -> GrantStatus:
        if self.revoked_at is not None and self.revoked_at <= at:
            return "revoked"
        day = district_day(at)
        if day < self.valid_from:
            return "not_yet_valid"
        if self.valid_until is not None and day > self.valid_until:
            return "expired"
        return "active"

    def active(self, at: dt.datetime) -> bool:
        return self.status(at) == "active"

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "grant_id": self.grant_id,
                "department": self.department,
                "purpose": self.purpose,
                "unmasked": self.unmasked,
                "valid_from": self.valid_from.isoformat(),
                "valid_until": self.valid_until.isoformat() if self.valid_until else None,
                "approved_by": self.approved_by,
                "basis": self.basis,
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            },
            ensure_ascii=False,
            indent=2,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Grant:
        record = json.loads(data)
        valid_until, revoked_at = record.get("valid_until"), record.get("revoked_at")
        return cls(
            grant_id=record["grant_id"],
            department=record["department"],
            purpose=record["purpose"],
            unmasked=bool(record["unmasked"]),
            valid_from=dt.date.fromisoformat(record["valid_from"]),
            valid_until=dt.date.fromisoformat(valid_until) if valid_until else None,
            approved_by=record["approved_by"],
            basis=record["basis"],
            created_at=dt.datetime.fromisoformat(record["created_at"]),
            revoked_at=dt.datetime.fromisoformat(revoked_at) if revoked_at else None,
        )


def active_grants(
    grants: Iterable[Grant], department: str, purpose: str, at: dt.datetime
) -> tuple[Grant, ...]:
    """The grants that open data to `department` for `purpose` at `at`."""
    return tuple(g for g in grants if g.department == department and g.purpose == purpose and g.active(at))


def _key(department: str, grant_id: str) -> str:
    return f"{GRANTS_PREFIX}{department}/{grant_id}.json"


class GrantRegistry:
    def __init__(
        self,
        store: ObjectStore,
        departments: Collection[str],
        known_purposes: Collection[str],
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.departments = frozenset(departments)
        self.purposes = frozenset(known_purposes)
        self.clock = clock

    def create(
        self,
        department: str,
        purpose: str,
        *,
        approved_by: str,
        basis: str,
        unmasked: bool = False,
        valid_from: dt.date | None = None,
        valid_until: dt.date | None = None,
    ) -> Grant:
        if department not in self.departments:
            known = ", ".join(sorted(self.departments))
            raise UnknownDepartmentError(f"unknown department {department!r}; the registry has: {known}")
        if purpose not in self.purposes:
            known = ", ".join(sorted(self.purposes))
            raise UnknownPurposeError(f"unknown purpose {purpose!r}; the purposes are: {known}")
        # A grant nobody can account for is no grant: both are what an audit asks first.
        if not approved_by.strip():
            raise ValueError("a grant needs the name of whoever approved it")
        if not basis.strip():
            raise ValueError("a grant needs its basis: the agreement or legal provision it rests on")
        now = self.clock()
        valid_from = valid_from or district_day(now)
        if valid_until is not None and valid_until < valid_from:
            raise ValueError(f"a grant valid until {valid_until} cannot start on {valid_from}")
        grant = Grant(
            grant_id=f"{department}-{purpose}-{secrets.token_hex(8)}",
            department=department,
            purpose=purpose,
            unmasked=unmasked,
            valid_from=valid_from,
            valid_until=valid_until,
            approved_by=approved_by.strip(),
            basis=basis.strip(),
            created_at=now,
        )
        self.store.put_bytes(_key(department, grant.grant_id), grant.to_json())
        return grant

    def get(self, grant_id: str) -> Grant | None:
        """The stored grant, revoked or not; None for an id that is unknown or malformed."""
        matched = GRANT_ID_PATTERN.fullmatch(grant_id)
        if matched is None:
            return None
        try:
            return Grant.from_json(self.store.get_bytes(_key(matched["department"], grant_id)))
        except Exception as error:
            if is_missing_key(error):
                return None
            raise

    def revoke(self, grant_id: str) -> Grant:
        """Revoke a grant from now on; revoking it again keeps the first revocation's time."""
        grant = self.get(grant_id)
        if grant is None:
            raise UnknownGrantError(f"no grant {grant_id!r} in the registry")
        if grant.revoked_at is None:
            grant = replace(grant, revoked_at=self.clock())
            self.store.put_bytes(_key(grant.department, grant_id), grant.to_json())
        return grant

    def for_department(self, department: str) -> tuple[Grant, ...]:
        """Every grant a department ever held (expired and revoked ones too), oldest first."""
        return self._read(f"{GRANTS_PREFIX}{department}/")

    def list_grants(self, department: str | None = None) -> tuple[Grant, ...]:
        return self.for_department(department) if department else self._read(GRANTS_PREFIX)

    def _read(self, prefix: str) -> tuple[Grant, ...]:
        grants = [
            Grant.from_json(self.store.get_bytes(key))
            for key in self.store.list_keys(prefix)
            if key.endswith(".json")
        ]
        return tuple(sorted(grants, key=lambda g: (g.created_at, g.grant_id)))


def grant_registry(settings: Settings, clock: Clock = utc_now) -> GrantRegistry:
    """The registry in the configured auth store, for the departments in the department registry."""
    from jobs.departments import department_names

    return GrantRegistry(auth_store(settings), department_names(), purposes(), clock)
