"""`GET /v1/cases/{case_id}/progress`: the applicant's progress query (办件进度查询).

The applicant asks at a window, the online hall or a kiosk with the case number and the
verification code (查询码) printed on the receipt; the channel's system calls this with its
department's token. The answer is the case's status timeline and nothing else: no applicant, no
officer, no material. Any department's channel may ask, for a case of any department, since the
code, not the department, is what entitles the asker.

- The code travels in the `X-Verification-Code` header, never in the URL, which access logs and
  proxies keep. It is checked against the HMAC gold holds (`hub.verification_codes`), in constant
  time.
- An unknown case and a wrong code get the same 404, body and all, so the endpoint does not tell
  which case ids exist.
- Failures are limited per case id and per client (`api.case_progress.ProgressGuard`): past the
  limit, 429 with Retry-After, even for the right code, so guessing gains nothing by persisting.
- Each query with a valid token is audited like an access to subject data (endpoint
  `case_progress`, with its outcome: shown, not_found, rate_limited, invalid_request): a timeline is
  about a person. The record names no subject: the progress table holds no identity for the API to
  learn it from, and no purpose: the applicant asking about their own case needs no grant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path

from api.audit import AuditDep
from api.case_progress import CaseProgressStoreDep, ProgressGuardDep, matching_case, progress_of
from api.deps import CallerDep, SettingsDep
from api.problems import problems
from api.schemas import CaseProgressPublic

router = APIRouter(prefix="/v1/cases", tags=["cases"])

ENDPOINT = "case_progress"
VERIFICATION_CODE_HEADER = "X-Verification-Code"

CaseIdPath = Annotated[
    str,
    Path(
        description="The case number the receiving department gave (办件编号), as on the receipt.",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        max_length=64,
        examples=["SYJ202611020000042"],
    ),
]
VerificationCodeHeader = Annotated[
    str,
    Header(
        alias=VERIFICATION_CODE_HEADER,
        description="The verification code (查询码) on the applicant's receipt; blanks and hyphens "
        "grouping it and its letters' case do not matter. Sent as a header so it stays out of URLs "
        "and the logs that keep them.",
        pattern=r"^[A-Za-z0-9 -]{4,64}$",
        min_length=4,
        max_length=64,
        examples=["K7MQ-3Z9P"],
    ),
]


async def progress_access(caller: CallerDep, audit: AuditDep) -> None:
    """Marks the query for the audit once its token is valid, before its parameters are checked, so
    a refused one is audited too."""
    audit.caller = caller
    audit.endpoint = ENDPOINT


NOT_FOUND = "no case with this number and verification code"
RESPONSES = problems(
    {
        401: "No token, or one that is not valid.",
        404: "No case with this number and verification code (either may be wrong).",
        422: "A malformed case number, or a missing or malformed verification code.",
        429: "Too many failed queries for this case number or from this client.",
        503: "The request could not be audited.",
    }
)
RESPONSES[429]["headers"] = {
    "Retry-After": {
        "description": "Seconds until a query for this case number from this client is answered again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


@router.get(
    "/{case_id}/progress",
    summary="The applicant's progress query: a case's status timeline, given its verification code",
    description="Where the case stands (status, promised date) and its steps so far with their "
    "times, for the applicant who holds the case's verification code (sent in the "
    f"`{VERIFICATION_CODE_HEADER}` header, never in the URL). Nothing about the applicant or the "
    "officers is served. An unknown case and a wrong code get the same 404. After "
    "repeated failures for a case number or from a client, every query for it is refused with 429 "
    "until `Retry-After` seconds have passed. Audited (endpoint `case_progress`).",
    dependencies=[Depends(progress_access)],
    responses=RESPONSES,
)
async def get_case_progress(
    *,  # FastAPI passes every parameter by name
    case_id: CaseIdPath,
    code: VerificationCodeHeader,
    caller: CallerDep,
    store: CaseProgressStoreDep,
    guard: ProgressGuardDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> CaseProgressPublic:
    # On the event loop: a look-up and two hashes, no I/O once the snapshot is held.
    wait = guard.retry_after(case_id, caller.client_id)
    if wait is not None:
        audit.outcome = "rate_limited"
        raise HTTPException(
            status_code=429,
            detail=f"too many failed progress queries; retry in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    snapshot = store.snapshot()
    audit.gold_version = snapshot.version
    key = settings.case_code_key.get_secret_value().encode()
    case = matching_case(snapshot.candidates(case_id), code, key)
    if case is None:
        guard.failed(case_id, caller.client_id)
        audit.outcome = "not_found"
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    progress = progress_of(case, snapshot.version)
    audit.returned([name for name in progress if name != "gold_version"])
    return CaseProgressPublic.model_validate(progress)
