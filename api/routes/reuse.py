"""`GET /v1/subjects/{subject_id}/reuse-plan?item_code=`: which materials of a new application the
window can take from the hub and which it must ask the applicant for (一次告知: told once, the
complete list)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from api.audit import AuditDep, SubjectAccess
from api.catalogue import ITEM_CODE_PATTERN
from api.deps import AccessDep, CatalogueStoreDep, ProfileStoreDep, TodayDep
from api.problems import problems
from api.reuse import reuse_plan
from api.routes.subjects import SubjectIdPath, valid_subject_id
from api.schemas import ReusePlanPublic

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])

ItemCodeQuery = Annotated[
    str,
    Query(
        description="The item applied for (事项编码), e.g. SYJ-0201-01.",
        pattern=ITEM_CODE_PATTERN,
        max_length=32,
        examples=["SYJ-0201-01"],
    ),
]


@router.get(
    "/{subject_id}/reuse-plan",
    summary="Which materials of an application are already on file, and which to ask for",
    description="The item's requirement standard, each material with `reuse` (a copy on file is "
    "valid today, was accepted, and the item lets it stand in: the applicant need not bring it) "
    "or `collect` with the reason (none on file, expired, not accepted, or the item asks for a new "
    "one each time), and the counts. The copy on file is shown as in the profile: its file key is "
    "conditional (the department that holds it, or a grant for the purpose). A subject the hub "
    "has no record of gets a plan with everything to collect, as one with nothing on file does. "
    "Audited like the profile.",
    dependencies=[Depends(SubjectAccess("subject_reuse_plan"))],
    responses=problems(
        {
            401: "No token, or one that is not valid.",
            404: "No such item in the catalogue.",
            422: "A malformed subject id or item code, or a missing or unknown purpose.",
            503: "The request could not be audited.",
        }
    ),
)
def get_reuse_plan(
    *,  # FastAPI passes every parameter by name
    subject_id: SubjectIdPath,
    item_code: ItemCodeQuery,
    profiles: ProfileStoreDep,
    catalogue: CatalogueStoreDep,
    access: AccessDep,
    audit: AuditDep,
    today: TodayDep,
) -> ReusePlanPublic:
    normalised = valid_subject_id(subject_id, audit)
    item = catalogue.snapshot().item(item_code)
    if item is None:
        audit.outcome = "unknown_item"
        raise HTTPException(status_code=404, detail=f"no item {item_code} in the catalogue")
    snapshot = profiles.snapshot()
    audit.gold_version = snapshot.version
    plan = reuse_plan(snapshot.profiles.get(normalised), item["requirements"], today, access)
    audit.returned(
        plan["returned"],
        grant_ids=plan["access"]["grant_ids"],
        masked=plan["masked"],
        withheld=plan["withheld"],
    )
    return ReusePlanPublic.model_validate(
        plan
        | {
            "subject_id": normalised,
            "item_code": item_code,
            "item_name": item["item_name"],
            "checked_on": today,
            "gold_version": snapshot.version,
        }
    )
