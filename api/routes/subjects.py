from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.routing import APIRoute

from api.access import visible_profile
from api.audit import PendingAudit, SubjectAccess
from api.deps import (
    MAX_PURPOSE_CHARS,
    AccessDep,
    ProfileStoreDep,
    get_access,
    get_caller,
    get_profile_store,
)
from api.model_json import served_json
from api.problems import problems
from api.schemas import SubjectProfilePublic
from hub.identifiers import check_subject_id
from quality.contracts import load_code_lists

# The longest subject id or code a route takes; a longer one gets a 422.
MAX_PARAMETER_CHARS = 64

SubjectIdPath = Annotated[
    str,
    Path(
        description="Resident ID number (GB 11643) or unified social credit code (GB 32100).",
        max_length=MAX_PARAMETER_CHARS,
        examples=["11010519491231002X", "91350100M000100Y43"],
    ),
]


# The route's first parameter, so that the request is marked for the audit before its other
# parameters are read; the route fills in the same PendingAudit.
profile_access = SubjectAccess("subject_profile")
ProfileAudit = Annotated[PendingAudit, Depends(profile_access)]


def valid_subject_id(subject_id: str, audit: PendingAudit) -> str:
    """The id normalised, and told to the audit; 422 with the reason for a malformed one."""
    check = check_subject_id(subject_id)
    if not check.valid:
        audit.outcome = "invalid_subject_id"
        raise HTTPException(status_code=422, detail=f"malformed subject id: {check.reason}")
    audit.subject_id = check.value
    return check.value


def code_path(code_list: str, description: str) -> Any:
    """A path parameter holding a code of `code_list`: typed as text and checked by `known_code`,
    so an unknown code is answered with the known ones; the enum tells the OpenAPI document's
    readers which exist."""
    return Path(
        description=description,
        max_length=MAX_PARAMETER_CHARS,
        json_schema_extra={"enum": sorted(load_code_lists()[code_list])},
    )


def known_code(value: str, code_list: str, audit: PendingAudit) -> str:
    codes = load_code_lists()[code_list]
    if value not in codes:
        audit.outcome = f"invalid_{code_list}"
        known = ", ".join(sorted(codes))
        raise HTTPException(status_code=422, detail=f"unknown {code_list} {value!r}; one of: {known}")
    return value


class ProfileRoute(APIRoute):
    """The profile route, answering a well-formed request without FastAPI's dependency solving.

    Most requests the API gets are for a profile, and solving the route's declared dependencies
    for each took a sixth of its time under load. A request whose parameters FastAPI would accept
    (a purpose given, neither it nor the id longer than the route takes) has them called here
    directly, in the order FastAPI solves them: the caller, the audit's mark, the store, the
    access. Any other request, and every request while a test overrides a dependency, is solved
    by FastAPI as declared, so its refusal is FastAPI's own. The declared route is what the
    OpenAPI document describes; `tests/integration/test_api_profile_route.py` checks that both
    answer alike.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def answer(request: Request) -> Response:
            subject_id: str = request.path_params["subject_id"]
            purpose = request.query_params.get("purpose")
            if (
                request.app.dependency_overrides
                or purpose is None
                or len(purpose) > MAX_PURPOSE_CHARS
                or len(subject_id) > MAX_PARAMETER_CHARS
            ):
                return await declared(request)
            caller = await get_caller(request)
            audit = await profile_access(request, caller)
            store = await get_profile_store(request)
            access = await get_access(request, caller, purpose)
            return await get_subject(audit, subject_id, store, access)

        return answer


router = APIRouter(prefix="/v1/subjects", tags=["subjects"], route_class=ProfileRoute)


@router.get(
    "/{subject_id}",
    summary="A subject's unified profile, as the caller may see it",
    description="Every department's records of the subject in one profile. Each value is shown, "
    "masked or withheld by its field's sharing class (from the data contracts), the department "
    "that reported it and the caller's grants for the stated `purpose`: unconditional fields go "
    "to every department; conditional ones to their own department or under a grant for the "
    "purpose; not-shared ones to their own department only. Personal data is masked unless the "
    "caller reported it or its grant allows it unmasked. What is withheld is counted in "
    "`withheld`, never silently dropped. There is no 403: every profile has an unconditional "
    "part, which any department sees. Every request with a valid token is audited (see "
    "`/v1/subjects/{subject_id}/access-log`); its response carries the audit's `X-Request-ID`.",
    response_model=SubjectProfilePublic,
    responses=problems(
        {
            401: "No token, or one that is not valid.",
            404: "No such subject in the hub.",
            422: "A malformed subject id, or a missing or unknown purpose.",
            503: "The request could not be audited.",
        }
    ),
)
async def get_subject(
    audit: ProfileAudit, subject_id: SubjectIdPath, store: ProfileStoreDep, access: AccessDep
) -> Response:
    # On the event loop: what it does is a look-up and computation, no I/O (the snapshot never
    # waits for a check or a load once held), and a worker thread would cost more than it saves.
    normalised = valid_subject_id(subject_id, audit)
    snapshot = store.snapshot()
    audit.gold_version = snapshot.version
    profile = snapshot.profiles.get(normalised)
    if profile is None:
        audit.outcome = "not_found"
        raise HTTPException(status_code=404, detail=f"no subject {normalised} in the hub")
    visible = visible_profile(profile, access, gold_version=snapshot.version)
    audit.returned(
        visible.pop("returned"),
        grant_ids=visible["access"]["grant_ids"],
        masked=visible["masked"],
        withheld=visible["withheld"],
    )
    # The body written without validating the model: see api.model_json.
    return Response(served_json(visible), media_type="application/json")
