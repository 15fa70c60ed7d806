"""Access tokens: what a token must carry to be accepted, when it expires (by an injected clock, not
by waiting), and how soon a revocation reaches tokens already issued."""

import datetime as dt
import logging

import jwt
import pytest
from pydantic import SecretStr

from api.tokens import (
    AUDIENCE,
    ISSUER,
    AccessTokens,
    CachedCredentials,
    Caller,
    InvalidTokenError,
    issue_token,
    read_token,
    signing_key,
)
from hub.credentials import Credential, CredentialRegistry, NewCredential
from hub.settings import Settings
from hub.storage import LocalObjectStore
from tests.clocks import MonotonicClock, WallClock

pytestmark = pytest.mark.unit

KEY = "k" * 32
OTHER_KEY = "o" * 32
ISSUED = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)
LIFETIME = dt.timedelta(minutes=15)


@pytest.fixture
def registry(tmp_path) -> CredentialRegistry:
    return CredentialRegistry(LocalObjectStore(tmp_path), ["health"], WallClock(ISSUED))


@pytest.fixture
def created(registry: CredentialRegistry) -> NewCredential:
    return registry.create("health")


def _claims(credential: Credential, **changes: object) -> dict[str, object]:
    issued_at = int(ISSUED.timestamp())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": credential.client_id,
        "department": credential.department,
        "iat": issued_at,
        "exp": issued_at + 900,
        "jti": "j1",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_a_token_names_its_client_and_department_until_it_expires(created: NewCredential) -> None:
    issued = issue_token(created.credential, KEY, LIFETIME, ISSUED)
    assert issued.expires_in == 900
    caller = read_token(issued.access_token, KEY, ISSUED + LIFETIME - dt.timedelta(seconds=1))
    assert caller == Caller(client_id=created.client_id, department="health")
    with pytest.raises(InvalidTokenError, match="expired"):
        read_token(issued.access_token, KEY, ISSUED + LIFETIME)


def _payload(token: str) -> dict[str, object]:
    """The signed claims, read with PyJWT alone (its own expiry check reads the wall clock)."""
    claims: dict[str, object] = jwt.decode(
        token, KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False}
    )
    return claims


def test_a_token_carries_the_claims_a_reader_needs(created: NewCredential) -> None:
    claims = _payload(issue_token(created.credential, KEY, LIFETIME, ISSUED).access_token)
    issued_at = int(ISSUED.timestamp())
    assert {k: v for k, v in claims.items() if k != "jti"} == {
        "sub": created.client_id,
        "department": "health",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + 900,
    }
    # Each token is told apart from the next, even one issued the same second.
    again = _payload(issue_token(created.credential, KEY, LIFETIME, ISSUED).access_token)
    assert isinstance(claims["jti"], str)
    assert claims["jti"] != again["jti"]


def test_a_token_signed_with_another_key_is_refused(created: NewCredential) -> None:
    forged = issue_token(created.credential, OTHER_KEY, LIFETIME, ISSUED).access_token
    with pytest.raises(InvalidTokenError, match="signature"):
        read_token(forged, KEY, ISSUED)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "another-service"}, "(?i)audience"),
        ({"iss": "someone-else"}, "(?i)issuer"),
        ({"department": None}, "department"),
        ({"exp": None}, "exp"),
        ({"jti": None}, "jti"),
        ({"exp": "tomorrow"}, "malformed"),
    ],
)
def test_a_token_without_the_expected_claims_is_refused(
    created: NewCredential, changes: dict[str, object], reason: str
) -> None:
    token = jwt.encode(_claims(created.credential, **changes), KEY, algorithm="HS256")
    with pytest.raises(InvalidTokenError, match=reason):
        read_token(token, KEY, ISSUED)


def test_an_unsigned_token_and_garbage_are_refused(created: NewCredential) -> None:
    unsigned = jwt.encode(_claims(created.credential), "", algorithm="none")
    with pytest.raises(InvalidTokenError, match="alg value is not allowed"):
        read_token(unsigned, KEY, ISSUED)
    with pytest.raises(InvalidTokenError):
        read_token("not-a-token", KEY, ISSUED)


def test_a_revocation_reaches_issued_tokens_once_the_cache_lapses(
    registry: CredentialRegistry, created: NewCredential
) -> None:
    clock, monotonic = WallClock(ISSUED), MonotonicClock()
    tokens = AccessTokens(KEY, LIFETIME, CachedCredentials(registry, 5.0, monotonic), clock)
    token = tokens.issue(created.credential).access_token
    assert tokens.authenticate(token) == Caller(created.client_id, "health")

    registry.revoke(created.client_id)
    monotonic.now += 4.9
    # Within the cache's few seconds the registry is not read again.
    assert tokens.authenticate(token).client_id == created.client_id
    monotonic.now += 0.2
    with pytest.raises(InvalidTokenError, match="revoked"):
        tokens.authenticate(token)


def test_without_a_cache_a_revocation_is_seen_at_once(
    registry: CredentialRegistry, created: NewCredential
) -> None:
    tokens = AccessTokens(
        KEY, LIFETIME, CachedCredentials(registry, 0.0, MonotonicClock()), WallClock(ISSUED)
    )
    token = tokens.issue(created.credential).access_token
    assert tokens.authenticate(token).department == "health"
    registry.revoke(created.client_id)
    with pytest.raises(InvalidTokenError, match="revoked"):
        tokens.authenticate(token)


def test_a_validly_signed_token_for_a_client_the_registry_lacks_is_refused(
    registry: CredentialRegistry, created: NewCredential
) -> None:
    tokens = AccessTokens(
        KEY, LIFETIME, CachedCredentials(registry, 0.0, MonotonicClock()), WallClock(ISSUED)
    )
    unknown = jwt.encode(_claims(created.credential, sub="health-0123456789abcdef"), KEY, algorithm="HS256")
    with pytest.raises(InvalidTokenError, match="not in the registry"):
        tokens.authenticate(unknown)
    other_department = jwt.encode(_claims(created.credential, department="food_drug"), KEY, algorithm="HS256")
    with pytest.raises(InvalidTokenError, match="not in the registry"):
        tokens.authenticate(other_department)


def test_access_tokens_expire_by_their_clock(registry: CredentialRegistry, created: NewCredential) -> None:
    clock = WallClock(ISSUED)
    tokens = AccessTokens(KEY, LIFETIME, CachedCredentials(registry, 0.0, MonotonicClock()), clock)
    token = tokens.issue(created.credential).access_token
    clock.now = ISSUED + LIFETIME
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.authenticate(token)


def test_a_token_checked_once_still_expires_and_a_forged_one_is_refused_every_time(
    registry: CredentialRegistry, created: NewCredential
) -> None:
    clock = WallClock(ISSUED)
    tokens = AccessTokens(KEY, LIFETIME, CachedCredentials(registry, 0.0, MonotonicClock()), clock)
    token = tokens.issue(created.credential).access_token
    # Its signature is checked once, and kept; its expiry is checked on every use.
    assert tokens.authenticate(token) == tokens.authenticate(token)
    clock.now = ISSUED + LIFETIME
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.authenticate(token)
    clock.now = ISSUED
    forged = jwt.encode(_claims(created.credential), OTHER_KEY, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(InvalidTokenError, match="signature"):
            tokens.authenticate(forged)


def test_without_a_configured_key_each_process_signs_with_its_own_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="api.tokens"):
        unset = Settings(token_signing_key=None)
        first, second = signing_key(unset), signing_key(unset)
    assert first != second
    assert len(first) >= 32
    assert "HUB_TOKEN_SIGNING_KEY is not set" in caplog.text
    caplog.clear()
    assert signing_key(Settings(token_signing_key=SecretStr(KEY))) == KEY
    assert caplog.text == ""
