"""`POST /v1/token`: the OAuth2 client credentials grant (RFC 6749 §4.4).

A department's client authenticates with HTTP Basic or with `client_id` and `client_secret` form
fields (§2.3.1) and receives a short-lived bearer token; a failure is answered in §5.2's shape.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security.utils import get_authorization_scheme_param

from api.deps import REALM, AccessTokensDep, CredentialRegistryDep
from api.schemas import TokenErrorPublic, TokenPublic

router = APIRouter(tags=["auth"])

TokenErrorCode = Literal["invalid_request", "invalid_client", "unsupported_grant_type"]
# RFC 6749 §5.1: token responses, errors included, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRequestError(Exception):
    def __init__(self, error: TokenErrorCode, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def token_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TokenRequestError)
    headers = dict(NO_STORE)
    status = 400
    if exc.error == "invalid_client":
        status = 401
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    body = TokenErrorPublic(error=exc.error, error_description=exc.description)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, encoded = get_authorization_scheme_param(authorization)
    if scheme.lower() != "basic":
        raise TokenRequestError("invalid_client", "clients authenticate with HTTP Basic or form fields")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise TokenRequestError("invalid_client", "malformed HTTP Basic credentials") from error
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise TokenRequestError("invalid_client", "malformed HTTP Basic credentials")
    # §2.3.1: the id and secret are form-encoded before they are joined and base64-encoded.
    return unquote_plus(client_id), unquote_plus(secret)


@router.post(
    "/v1/token",
    summary="Exchange a department's client credentials for an access token",
    responses={400: {"model": TokenErrorPublic}, 401: {"model": TokenErrorPublic}},
)
def issue_access_token(
    *,  # FastAPI passes every parameter by name
    response: Response,
    registry: CredentialRegistryDep,
    tokens: AccessTokensDep,
    authorization: Annotated[
        str | None, Header(description="HTTP Basic with the client id and secret, or use the form fields.")
    ] = None,
    grant_type: Annotated[str | None, Form(description="Must be client_credentials.")] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> TokenPublic:
    # Every field is optional to FastAPI so that a request missing one is answered in OAuth2's
    # error shape rather than FastAPI's 422.
    if not grant_type:
        raise TokenRequestError("invalid_request", "grant_type is required")
    if authorization and (client_id or client_secret):
        raise TokenRequestError("invalid_request", "use one client authentication method, not both")
    if authorization:
        client_id, client_secret = _basic_credentials(authorization)
    if not client_id or not client_secret:
        raise TokenRequestError("invalid_client", "client authentication is required")
    if grant_type != "client_credentials":
        raise TokenRequestError("unsupported_grant_type", "the only grant is client_credentials")
    credential = registry.verify(client_id, client_secret)
    if credential is None:
        # One answer for an unknown client, a wrong secret and a revoked client.
        raise TokenRequestError("invalid_client", "unknown client, wrong secret or revoked client")
    issued = tokens.issue(credential)
    response.headers.update(NO_STORE)
    return TokenPublic(access_token=issued.access_token, expires_in=issued.expires_in)
