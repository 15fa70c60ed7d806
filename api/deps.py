"""Dependencies the routes declare with Annotated; tests override them on the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from fastapi.security.utils import get_authorization_scheme_param

from api.profiles import ProfileStore
from api.tokens import AccessTokens, Caller, InvalidTokenError
from hub.credentials import CredentialRegistry
from hub.settings import Settings

REALM = "approval-hub"


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_profile_store(request: Request) -> ProfileStore:
    store: ProfileStore = request.app.state.profile_store
    return store


def get_credential_registry(request: Request) -> CredentialRegistry:
    registry: CredentialRegistry = request.app.state.credential_registry
    return registry


def get_access_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.access_tokens
    return tokens


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ProfileStoreDep = Annotated[ProfileStore, Depends(get_profile_store)]
CredentialRegistryDep = Annotated[CredentialRegistry, Depends(get_credential_registry)]
AccessTokensDep = Annotated[AccessTokens, Depends(get_access_tokens)]

# Declares the client credentials flow in the OpenAPI document (so /docs can fetch a token); the
# header itself is checked in get_caller, which answers a missing token in the API's own shape.
client_credentials_scheme = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/v1/token", scopes={})),
    scheme_name="departmentClient",
    description="A department's client id and secret (`hub credentials create`) exchanged at "
    "`POST /v1/token` for a short-lived bearer token.",
    auto_error=False,
)


def _unauthorized(reason: str, invalid_token: bool) -> HTTPException:
    # RFC 6750 §3: a request with no token gets the bare challenge; a bad token gets the error code.
    challenge = f'Bearer realm="{REALM}"'
    if invalid_token:
        # The header value allows printable ASCII but for the quote and backslash (RFC 6750 §3).
        description = "".join(c for c in reason if " " <= c <= "~" and c not in '"\\')
        challenge += f', error="invalid_token", error_description="{description}"'
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": challenge})


def get_caller(
    authorization: Annotated[str | None, Security(client_credentials_scheme)], tokens: AccessTokensDep
) -> Caller:
    scheme, token = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required: Authorization: Bearer <token>", invalid_token=False)
    try:
        return tokens.authenticate(token)
    except InvalidTokenError as error:
        raise _unauthorized(str(error), invalid_token=True) from error


CallerDep = Annotated[Caller, Depends(get_caller)]
