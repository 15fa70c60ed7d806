"""`GET /v1/grants`: the grants of the caller's own department, so its system can tell which
purposes open which data to it. No department can list or read another's."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import CachedGrantsDep, CallerDep
from api.problems import problems
from api.schemas import GrantPublic
from hub.credentials import utc_now

router = APIRouter(prefix="/v1/grants", tags=["grants"])


@router.get(
    "",
    summary="The grants of the caller's department",
    description="Every grant the caller's department holds or held (expired and revoked ones "
    "too, with their status now), as the API applies them: a grant created or revoked in the "
    "registry shows here, and takes effect, within `HUB_GRANT_CACHE_SECONDS`.",
    responses=problems({401: "No token, or one that is not valid."}),
)
def list_grants(caller: CallerDep, grants: CachedGrantsDep) -> list[GrantPublic]:
    now = utc_now()
    return [
        GrantPublic.model_validate(asdict(grant) | {"status": grant.status(now)})
        for grant in grants.get(caller.department)
    ]
