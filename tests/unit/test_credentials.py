"""The credential registry: secrets are handed out once and kept only as argon2 hashes; verification
answers the same for an unknown client, a wrong secret and a revoked client."""

import datetime as dt
from typing import Literal

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from hub.credentials import (
    CredentialRegistry,
    UnknownClientError,
    UnknownDepartmentError,
)
from hub.storage import LocalObjectStore
from tests.clocks import WallClock

pytestmark = pytest.mark.unit

DEPARTMENTS = ["food_drug", "health"]
CREATED = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> WallClock:
    return WallClock(CREATED)


@pytest.fixture
def store(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path)


@pytest.fixture
def registry(store: LocalObjectStore, clock: WallClock) -> CredentialRegistry:
    return CredentialRegistry(store, DEPARTMENTS, clock)


def test_created_secret_verifies_and_names_its_department(registry: CredentialRegistry) -> None:
    created = registry.create("food_drug", note="window system")
    verified = registry.verify(created.client_id, created.secret)
    assert verified is not None
    assert (verified.client_id, verified.department, verified.note) == (
        created.client_id,
        "food_drug",
        "window system",
    )
    assert verified.created_at == CREATED
    assert created.client_id.startswith("food_drug-")


def test_the_stored_object_holds_a_hash_not_the_secret(
    registry: CredentialRegistry, store: LocalObjectStore
) -> None:
    created = registry.create("health")
    assert store.list_keys("credentials/") == [f"credentials/{created.client_id}.json"]
    stored = store.get_bytes(f"credentials/{created.client_id}.json").decode()
    assert created.secret not in stored
    assert '"secret_hash": "$argon2id$' in stored
    # Nor does printing the credential show its secret or hash.
    assert created.secret not in repr(created)
    assert "argon2" not in repr(created)


def test_each_credential_gets_its_own_id_and_secret(registry: CredentialRegistry) -> None:
    first, second = registry.create("health"), registry.create("health")
    assert first.client_id != second.client_id
    assert first.secret != second.secret
    assert registry.verify(first.client_id, second.secret) is None


def test_wrong_secret_unknown_and_malformed_client_are_refused(registry: CredentialRegistry) -> None:
    created = registry.create("health")
    assert registry.verify(created.client_id, created.secret + "x") is None
    assert registry.verify(created.client_id, "") is None
    assert registry.verify("health-0123456789abcdef", created.secret) is None
    assert registry.verify("../../etc/passwd", created.secret) is None


class RecordingHasher(PasswordHasher):
    """The production hasher, noting each hash a secret is verified against."""

    def __init__(self) -> None:
        params = RFC_9106_LOW_MEMORY
        super().__init__(
            params.time_cost, params.memory_cost, params.parallelism, params.hash_len, params.salt_len
        )
        self.verified_against: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified_against.append(str(hash))
        return super().verify(hash, password)


def test_an_unknown_client_costs_an_argon2_verification_too(
    store: LocalObjectStore, clock: WallClock
) -> None:
    hasher = RecordingHasher()
    registry = CredentialRegistry(store, DEPARTMENTS, clock, hasher)
    created = registry.create("health")
    assert registry.verify(created.client_id, "wrong") is None
    assert registry.verify("health-0123456789abcdef", "guess") is None
    assert registry.verify("not a client id", "guess") is None
    stored_hash, unknown_hash, malformed_hash = hasher.verified_against
    assert stored_hash == created.credential.secret_hash
    # The same argon2 parameters as a real client's, so the same cost.
    assert unknown_hash == malformed_hash != stored_hash
    assert unknown_hash.split("$")[1:4] == stored_hash.split("$")[1:4]


def test_unknown_department_is_refused(registry: CredentialRegistry, store: LocalObjectStore) -> None:
    with pytest.raises(UnknownDepartmentError, match=r"unknown department 'fire'.*food_drug, health"):
        registry.create("fire")
    assert store.list_keys("credentials/") == []


def test_revoked_client_no_longer_verifies_and_keeps_its_first_revocation(
    registry: CredentialRegistry, clock: WallClock
) -> None:
    created = registry.create("health")
    clock.now = CREATED + dt.timedelta(hours=1)
    revoked = registry.revoke(created.client_id)
    assert revoked.revoked_at == clock.now
    assert not revoked.active
    assert registry.verify(created.client_id, created.secret) is None
    stored = registry.get(created.client_id)
    assert stored is not None
    assert stored.revoked_at == CREATED + dt.timedelta(hours=1)
    clock.now = CREATED + dt.timedelta(hours=2)
    assert registry.revoke(created.client_id).revoked_at == CREATED + dt.timedelta(hours=1)


def test_revoking_an_unknown_client_says_so(registry: CredentialRegistry) -> None:
    with pytest.raises(UnknownClientError, match="no client 'health-0123456789abcdef'"):
        registry.revoke("health-0123456789abcdef")


def test_list_shows_every_client_oldest_first(registry: CredentialRegistry, clock: WallClock) -> None:
    first = registry.create("health", note="first")
    clock.now = CREATED + dt.timedelta(minutes=1)
    second = registry.create("food_drug", note="second")
    registry.revoke(first.client_id)
    listed = registry.list_credentials()
    assert [(c.client_id, c.active) for c in listed] == [(first.client_id, False), (second.client_id, True)]
