from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from api.deps import CallerDep, ProfileStoreDep
from api.schemas import ProblemDetail, SubjectProfilePublic
from hub.identifiers import check_subject_id

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])

SubjectIdPath = Annotated[
    str,
    Path(
        description="Resident ID number (GB 11643) or unified social credit code (GB 32100).", max_length=64
    ),
]


@router.get(
    "/{subject_id}",
    responses={401: {"model": ProblemDetail}, 404: {"model": ProblemDetail}, 422: {"model": ProblemDetail}},
)
def get_subject(subject_id: SubjectIdPath, store: ProfileStoreDep, caller: CallerDep) -> SubjectProfilePublic:
    # Any authenticated department may read a profile for now; what it may see of it will
    # depend on `caller.department` (sharing classes and grants).
    check = check_subject_id(subject_id)
    if not check.valid:
        raise HTTPException(status_code=422, detail=f"malformed subject id: {check.reason}")
    snapshot = store.snapshot()
    profile = snapshot.profiles.get(check.value)
    if profile is None:
        raise HTTPException(status_code=404, detail=f"no subject {check.value} in the hub")
    return SubjectProfilePublic.model_validate(profile | {"gold_version": snapshot.version})
