"""Access tokens: the short-lived JWTs (HS256) the API issues to a department's client at
`POST /v1/token` and checks on every request, and the Caller a valid token stands for.

A token is checked by its signature and claims, and its client by the credential registry, so a
revoked client's tokens stop working before they expire. Registry reads are kept for a few
seconds (`CachedCredentials`, an `api.cache.ReadThroughCache`), not repeated on every request.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from api.cache import ReadThroughCache
from hub.credentials import Clock, Credential, CredentialRegistry, utc_now
from hub.settings import Settings

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
# Fixed so a token made for another service, even one signed with the same key, is refused here.
ISSUER = "approval-hub"
AUDIENCE = "approval-hub-api"
REQUIRED_CLAIMS = ["sub", "department", "iat", "exp", "jti", "iss", "aud"]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the client a valid token was issued to, and the department it acts for."""

    client_id: str
    department: str


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds


class InvalidTokenError(Exception):
    """A token that does not let its bearer in; the message is safe to tell the caller."""


def issue_token(credential: Credential, key: str, lifetime: dt.timedelta, now: dt.datetime) -> IssuedToken:
    issued_at = int(now.timestamp())
    expires_in = int(lifetime.total_seconds())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": credential.client_id,
        "department": credential.department,
        "iat": issued_at,
        "exp": issued_at + expires_in,
        "jti": secrets.token_hex(16),
    }
    return IssuedToken(jwt.encode(claims, key, algorithm=ALGORITHM), expires_in)


def verified_claims(token: str, key: str) -> tuple[Caller, int]:
    """The caller a token names and when it expires, once its signature, issuer and audience are
    checked (not its expiry, which changes with the clock)."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            # PyJWT reads the wall clock for time claims; expiry is checked against `now` by the
            # caller, so tests can move the clock instead of sleeping.
            options={
                "require": REQUIRED_CLAIMS,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError as error:
        raise InvalidTokenError("the token's signature is not valid") from error
    except jwt.InvalidTokenError as error:
        raise InvalidTokenError(f"the token is not valid: {error}") from error
    expires_at = claims["exp"]
    if not isinstance(expires_at, int) or not isinstance(claims["department"], str):
        raise InvalidTokenError("the token is not valid: malformed claims")
    return Caller(client_id=claims["sub"], department=claims["department"]), expires_at


def unexpired(caller: Caller, expires_at: int, now: dt.datetime) -> Caller:
    if expires_at <= now.timestamp():
        raise InvalidTokenError("the token has expired")
    return caller


def read_token(token: str, key: str, now: dt.datetime) -> Caller:
    """The caller a token names, once its signature, issuer, audience and expiry are checked."""
    return unexpired(*verified_claims(token, key), now)


# Tokens whose signature this process checked, kept so a client's next requests skip the HMAC and
# the JSON decoding (a tenth of a profile request's time). At most this many; then it starts over.
VERIFIED_TOKENS = 10_000


class CachedCredentials(ReadThroughCache[str, Credential | None]):
    """Credential look-ups by client id, kept for `ttl_seconds`: a request needs no storage read,
    and a revocation still reaches every token within that time."""

    def __init__(
        self,
        registry: CredentialRegistry,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(registry.get, ttl_seconds, monotonic)
        self.registry = registry


class AccessTokens:
    """Issues access tokens to verified clients and turns a presented token into its Caller."""

    def __init__(
        self, key: str, lifetime: dt.timedelta, credentials: CachedCredentials, clock: Clock = utc_now
    ) -> None:
        self._key = key
        self.lifetime = lifetime
        self.credentials = credentials
        self.clock = clock
        # Token -> the caller it names and its expiry; signatures only, never a refusal, are kept.
        self._verified: dict[str, tuple[Caller, int]] = {}

    def issue(self, credential: Credential) -> IssuedToken:
        return issue_token(credential, self._key, self.lifetime, self.clock())

    def _read(self, token: str) -> Caller:
        verified = self._verified.get(token)
        if verified is None:
            verified = verified_claims(token, self._key)
            if len(self._verified) >= VERIFIED_TOKENS:
                self._verified.clear()
            self._verified[token] = verified
        return unexpired(*verified, self.clock())

    def authenticate(self, token: str) -> Caller:
        caller = self._read(token)
        return _registered(caller, self.credentials.get(caller.client_id))

    async def authenticate_async(self, token: str) -> Caller:
        """As `authenticate`, from the event loop: a registry read runs in a worker thread."""
        caller = self._read(token)
        return _registered(caller, await self.credentials.get_async(caller.client_id))


def _registered(caller: Caller, credential: Credential | None) -> Caller:
    """The caller, once the registry holds its client, active and of the token's department."""
    if credential is None or credential.department != caller.department:
        raise InvalidTokenError("the token's client is not in the registry")
    if not credential.active:
        raise InvalidTokenError("the token's client has been revoked")
    return caller


def signing_key(settings: Settings) -> str:
    """The configured key, or a random one that lasts as long as this process."""
    if settings.token_signing_key is not None:
        return settings.token_signing_key.get_secret_value()
    log.warning(
        "HUB_TOKEN_SIGNING_KEY is not set: signing access tokens with a random key, so they are "
        "valid only for this API process (not after a restart, not on another replica)"
    )
    return secrets.token_urlsafe(32)


def access_tokens(settings: Settings, registry: CredentialRegistry, key: str | None = None) -> AccessTokens:
    return AccessTokens(
        key or signing_key(settings),
        dt.timedelta(seconds=settings.token_lifetime_seconds),
        CachedCredentials(registry, settings.credential_cache_seconds),
    )
