"""`POST /v1/reuse-events`: a window records that it accepted or rejected a material on file it
was offered for reuse. The event is checked against gold (the material is on file for the subject,
of a type the item requires and lets stand in, and the caller may see it), journalled on disk
before the answer (`hub/feedback.py`, shipped to `feedback/reuse_event`), and audited as an access
to the subject's data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from api.access import Access, Viewer, sharing_policy
from api.audit import AuditDep, GroupCommit, PendingAudit, SubjectAccess
from api.deps import AccessDep, CatalogueStoreDep, ProfileStoreDep
from api.problems import problems
from api.reuse import MATERIAL_PATH, SINGLE_USE
from api.routes.subjects import known_code, valid_subject_id
from api.schemas import ReuseEventCreate, ReuseEventPublic
from hub.audit import utc_now
from hub.feedback import REJECTION_CODE_LIST, ReuseEvent, rejection_problem
from quality.contracts import load_code_lists

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["reuse"])

# A window's clock may run a little ahead of the hub's.
CLOCK_SKEW = dt.timedelta(minutes=5)
OTHER_REASON = "other"
RETURNED = ("material_id", "material_type", "issuing_department")


async def get_feedback_commit(request: Request) -> GroupCommit:
    commit: GroupCommit = request.app.state.feedback_commit
    return commit


FeedbackCommitDep = Annotated[GroupCommit, Depends(get_feedback_commit)]


def event_problem(event: ReuseEventCreate, now: dt.datetime) -> str | None:
    """What is wrong with the event on its own, before gold is read, or None."""
    if event.material_id is None and event.sha256 is None:
        return "name the material: material_id, or sha256, as the reuse plan showed it"
    refused = rejection_problem(event.decision, event.reason, load_code_lists()[REJECTION_CODE_LIST])
    if refused is not None:
        return refused
    if event.reason == OTHER_REASON and not (event.note or "").strip():
        return "reason other needs a note saying what it was"
    if event.occurred_at > now + CLOCK_SKEW:
        return f"occurred_at {event.occurred_at.isoformat()} is in the future"
    return None


def requirement_problem(requirements: Sequence[Mapping[str, Any]], event: ReuseEventCreate) -> str | None:
    """Why the item offers no reuse of the event's material type, or None."""
    requirement = next((r for r in requirements if r["material_type"] == event.material_type), None)
    if requirement is None:
        return f"item {event.item_code} does not require {event.material_type}"
    if not requirement["reusable"] or requirement["validity_rule"] == SINGLE_USE:
        return f"item {event.item_code} asks for a new {event.material_type} every time: none is reused"
    return None


def material_on_file(
    materials: Sequence[Mapping[str, Any]], event: ReuseEventCreate
) -> Mapping[str, Any] | None:
    """The subject's material on file the event names: its type, and its id and hash where sent."""
    for material in materials:
        if (
            material["material_type"] == event.material_type
            and event.material_id in (None, material["material_id"])
            and event.sha256 in (None, material["sha256"])
        ):
            return material
    return None


def visible_material(material: Mapping[str, Any], access: Access) -> dict[str, Any] | None:
    """The material as the caller may see it (as the reuse plan shows it), or None when the
    policy withholds what names it."""
    shown = Viewer(access).item(MATERIAL_PATH, sharing_policy().lists["materials_on_file"], material)
    if shown.get("material_id") is None or shown.get("department") is None:
        return None
    return shown


def _refuse(audit: PendingAudit, status: int, outcome: str, detail: str) -> HTTPException:
    audit.outcome = outcome
    return HTTPException(status_code=status, detail=detail)


@router.post(
    "/reuse-events",
    status_code=202,
    summary="Record that a window accepted or rejected a material on file offered for reuse",
    description="After a reuse plan (`/v1/subjects/{subject_id}/reuse-plan`), the window says "
    "what it did with each copy on file it was offered: `accepted` (the applicant did not bring "
    "it) or `rejected` with a reason (code list reuse_rejection_reason) and an optional note. The "
    "material must be on file for the subject, of a type the item requires and lets stand in, and "
    "visible to the caller. The event is on the hub's disk when the answer (202) leaves, and in "
    "`feedback/reuse_event` within the hour; it feeds the issuing department's monthly feedback "
    "and the throughput marts' reuse counts. The client makes `event_id`: sending the same event "
    "again records it once. Audited like the reuse plan.",
    dependencies=[Depends(SubjectAccess("reuse_event"))],
    responses=problems(
        {
            401: "No token, or one that is not valid.",
            403: "The caller may not see the material.",
            404: "No such material on file for the subject.",
            422: "A malformed or oversized body, an unknown item, material type or reason, a "
            "rejection without its reason, or a missing or unknown purpose.",
            503: "The event or the request's audit could not be written: retry with the same event_id.",
        }
    ),
)
async def post_reuse_event(
    *,  # FastAPI passes every parameter by name
    event: ReuseEventCreate,
    profiles: ProfileStoreDep,
    catalogue: CatalogueStoreDep,
    access: AccessDep,
    audit: AuditDep,
    feedback: FeedbackCommitDep,
) -> ReuseEventPublic:
    subject_id = valid_subject_id(event.subject_id, audit)
    now = utc_now()
    problem = event_problem(event, now)
    if problem is not None:
        raise _refuse(audit, 422, "invalid_request", problem)
    known_code(event.material_type, "material_type", audit)
    item = catalogue.snapshot().item(event.item_code)
    if item is None:
        raise _refuse(audit, 422, "unknown_item", f"no item {event.item_code} in the catalogue")
    problem = requirement_problem(item["requirements"], event)
    if problem is not None:
        raise _refuse(audit, 422, "not_reusable", problem)
    snapshot = profiles.snapshot()
    audit.gold_version = snapshot.version
    on_file = (snapshot.profiles.get(subject_id) or {}).get("materials_on_file") or []
    material = material_on_file(on_file, event)
    if material is None:
        # The same answer whether the hub knows the subject or not.
        raise _refuse(audit, 404, "not_found", f"no such {event.material_type} of {subject_id} on file")
    if visible_material(material, access) is None:
        raise _refuse(audit, 403, "forbidden", f"{access.department} may not see this material")
    recorded = ReuseEvent(
        event_id=str(event.event_id),
        recorded_at=now,
        occurred_at=event.occurred_at.astimezone(dt.UTC),
        request_id=audit.request_id,
        client_id=access_client(audit),
        department=access.department,
        purpose=access.purpose,
        subject_id=subject_id,
        item_code=event.item_code,
        case_id=event.case_id,
        material_id=material["material_id"],
        material_type=material["material_type"],
        issuing_department=material["department"],
        sha256=material["sha256"],
        decision=event.decision,
        reason=event.reason,
        note=event.note,
        gold_version=snapshot.version,
    )
    try:
        await feedback.append(recorded)
    except Exception as error:
        log.exception("could not journal reuse event %s", recorded.event_id)
        raise _refuse(
            audit, 503, "error", "the event could not be recorded: send it again with the same event_id"
        ) from error
    audit.returned(RETURNED, grant_ids=[g.grant_id for g in access.grants])
    return ReuseEventPublic(
        event_id=event.event_id,
        recorded_at=now,
        subject_id=subject_id,
        material_id=recorded.material_id,
        material_type=recorded.material_type,
        issuing_department=recorded.issuing_department,
        decision=event.decision,
        reason=event.reason,
        gold_version=snapshot.version,
    )


def access_client(audit: PendingAudit) -> str:
    # SubjectAccess put the caller there before the route ran.
    assert audit.caller is not None
    return audit.caller.client_id
