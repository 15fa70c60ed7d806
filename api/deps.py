"""Dependencies the routes declare with Annotated; tests override them on the app.

They are coroutines: FastAPI runs a plain function dependency in a worker thread, and a thread hop
costs more than what most of these do. What may read storage (a registry read on a cache miss)
goes to a thread itself, only when it does.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from fastapi.security.utils import get_authorization_scheme_param

from api.access import Access
from api.analyst import AnalystMartStore
from api.cache import ReadThroughCache
from api.catalogue import CatalogueStore
from api.downloads import MaterialFiles
from api.metrics import CALLER_SCOPE_KEY
from api.profiles import ProfileStore
from api.tokens import AccessTokens, Caller, InvalidTokenError
from hub.credentials import CredentialRegistry, utc_now
from hub.grants import PURPOSE_CODE_LIST, Grant, district_day, purposes
from hub.settings import Settings
from quality.contracts import load_code_labels

REALM = "approval-hub"


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_profile_store(request: Request) -> ProfileStore:
    store: ProfileStore = request.app.state.profile_store
    return store


async def get_catalogue_store(request: Request) -> CatalogueStore:
    store: CatalogueStore = request.app.state.catalogue_store
    return store


async def get_analyst_mart_store(request: Request) -> AnalystMartStore:
    store: AnalystMartStore = request.app.state.analyst_mart_store
    return store


async def get_material_files(request: Request) -> MaterialFiles:
    files: MaterialFiles = request.app.state.material_files
    return files


async def get_credential_registry(request: Request) -> CredentialRegistry:
    registry: CredentialRegistry = request.app.state.credential_registry
    return registry


async def get_access_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.access_tokens
    return tokens


# A department's grants (expired and revoked ones too) as the API last read them.
CachedGrants = ReadThroughCache[str, tuple[Grant, ...]]


async def get_cached_grants(request: Request) -> CachedGrants:
    grants: CachedGrants = request.app.state.cached_grants
    return grants


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ProfileStoreDep = Annotated[ProfileStore, Depends(get_profile_store)]
CatalogueStoreDep = Annotated[CatalogueStore, Depends(get_catalogue_store)]
AnalystMartStoreDep = Annotated[AnalystMartStore, Depends(get_analyst_mart_store)]
MaterialFilesDep = Annotated[MaterialFiles, Depends(get_material_files)]
CredentialRegistryDep = Annotated[CredentialRegistry, Depends(get_credential_registry)]
AccessTokensDep = Annotated[AccessTokens, Depends(get_access_tokens)]
CachedGrantsDep = Annotated[CachedGrants, Depends(get_cached_grants)]


def _unauthorized(reason: str, invalid_token: bool) -> HTTPException:
    # RFC 6750 §3: a request with no token gets the bare challenge; a bad token gets the error code.
    challenge = f'Bearer realm="{REALM}"'
    if invalid_token:
        # The header value allows printable ASCII but for the quote and backslash (RFC 6750 §3).
        description = "".join(c for c in reason if " " <= c <= "~" and c not in '"\\')
        challenge += f', error="invalid_token", error_description="{description}"'
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": challenge})


class BearerCaller(OAuth2):
    """The caller a request's bearer token names. As an OAuth2 scheme it declares the client
    credentials flow in the OpenAPI document (so /docs can fetch a token); it answers a missing
    token in the API's own shape. One dependency rather than a scheme and a function that reads
    it: FastAPI resolves each dependency of the subject routes on every request, twice when two
    others need it."""

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(
                "a bearer token is required: Authorization: Bearer <token>", invalid_token=False
            )
        # Read here, not declared as a dependency: see above.
        tokens: AccessTokens = request.app.state.access_tokens
        try:
            caller = await tokens.authenticate_async(token)
        except InvalidTokenError as error:
            raise _unauthorized(str(error), invalid_token=True) from error
        # For the metrics and the request's log line, which count requests by department.
        request.scope[CALLER_SCOPE_KEY] = caller
        return caller


get_caller = BearerCaller(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/v1/token", scopes={})),
    scheme_name="departmentClient",
    description="A department's client id and secret (`hub credentials create`) exchanged at "
    "`POST /v1/token` for a short-lived bearer token.",
    auto_error=False,
)
CallerDep = Annotated[Caller, Security(get_caller)]


def _purpose_description() -> str:
    labels = load_code_labels()[PURPOSE_CODE_LIST]
    listed = "; ".join(f"`{code}`: {label}" for code, label in labels.items())
    return (
        "Why the caller reads the data. A conditional field of another department's is shown only "
        f"under a grant for this purpose (`hub grants create`). One of: {listed}."
    )


MAX_PURPOSE_CHARS = 64

# Typed as text and checked in get_access, so an unknown purpose is answered with the known ones;
# the enum still tells the OpenAPI document's readers which values exist.
PurposeQuery = Annotated[
    str,
    Query(
        description=_purpose_description(),
        max_length=MAX_PURPOSE_CHARS,
        json_schema_extra={"enum": sorted(purposes())},
    ),
]


async def get_access(request: Request, caller: CallerDep, purpose: PurposeQuery) -> Access:
    """The caller's department, the purpose it states, and its grants active for that purpose now."""
    if purpose not in purposes():
        known = ", ".join(sorted(purposes()))
        raise HTTPException(status_code=422, detail=f"unknown purpose {purpose!r}; state one of: {known}")
    # Read here, not declared as a dependency: see get_caller.
    grants: CachedGrants = request.app.state.cached_grants
    return Access.at(caller.department, purpose, await grants.get_async(caller.department), utc_now())


AccessDep = Annotated[Access, Depends(get_access)]


async def district_today() -> dt.date:
    """Today in the district (Asia/Shanghai): the day validity is judged on."""
    return district_day(utc_now())


TodayDep = Annotated[dt.date, Depends(district_today)]
