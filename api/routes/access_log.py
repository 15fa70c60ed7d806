"""`GET /v1/subjects/{subject_id}/access-log`: who asked for a subject's data, when, for what
purpose, and what they got.

Which departments look at a subject, and why, is itself sensitive (it shows who is supervising or
investigating it), so a department sees its own clients' accesses only, unless it states the
`supervision` purpose and holds a grant for it: then it sees every department's. Unlike a profile's
withheld values, the other departments' entries are not even counted: their number alone would
tell that someone else is looking. Reading the log is audited like any other access.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.audit import AuditDep, SubjectAccess
from api.deps import AccessDep, SettingsDep
from api.problems import problems
from api.routes.subjects import SubjectIdPath, valid_subject_id
from api.schemas import AccessLogEntryPublic, AccessLogPublic, AccessPublic
from hub.audit import read_access_log

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])

SUPERVISION = "supervision"
ENTRY_FIELDS = tuple(f"entries.{name}" for name in AccessLogEntryPublic.model_fields)


@router.get(
    "/{subject_id}/access-log",
    summary="Who asked for a subject's data, when, for what purpose",
    description="The audit records of every request for the subject's data (profiles and access "
    "log reads, refused ones too), newest first, up to `limit`: the client and its department, "
    "the purpose it stated, the outcome, and the fields it got, got masked or was refused. A "
    "department sees its own clients' requests; stating `purpose=supervision` under an active "
    "supervision grant, every department's. Never behind: records not yet shipped to the lake's "
    "`audit/access_log` table are read from the API's journal.",
    dependencies=[Depends(SubjectAccess("subject_access_log"))],
    responses=problems(
        {
            401: "No token, or one that is not valid.",
            422: "A malformed subject id, or a missing or unknown purpose.",
            503: "The request could not be audited.",
        }
    ),
)
def get_access_log(
    subject_id: SubjectIdPath,
    access: AccessDep,
    settings: SettingsDep,
    audit: AuditDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many entries, newest first.")] = 100,
) -> AccessLogPublic:
    normalised = valid_subject_id(subject_id, audit)
    every_department = access.purpose == SUPERVISION and bool(access.grants)
    records = [
        r
        for r in read_access_log(settings, normalised)
        if every_department or r.department == access.department
    ]
    entries = [AccessLogEntryPublic.from_record(r) for r in records[:limit]]
    grant_ids = [g.grant_id for g in access.grants] if every_department else []
    audit.returned(ENTRY_FIELDS if entries else (), grant_ids=grant_ids)
    return AccessLogPublic(
        subject_id=normalised,
        scope="all_departments" if every_department else "own_department",
        access=AccessPublic(
            department=access.department,
            purpose=access.purpose,
            grant_ids=grant_ids,
            unmasked=every_department and access.unmasked,
        ),
        total=len(records),
        entries=entries,
    )
