"""`GET /v1/subjects/{subject_id}/attestations/{certificate_type}`: does the subject hold a valid
certificate of this type (持证核验)? Yes or no, and nothing of the certificate.

A window that needs to know that an applicant holds, say, a food business licence does not need
the licence's number or dates: the answer alone spares the applicant the paper, and less of the
subject's record leaves the hub. A subject the hub has no record of gets the same "no" as one
without the certificate: the window's next step is the same (ask for the paper), and an endpoint
that answers one bit should not answer a second one, whether the hub knows the subject. Audited
like the profile.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.access import attestation
from api.audit import AuditDep, SubjectAccess
from api.deps import AccessDep, ProfileStoreDep, TodayDep
from api.problems import problems
from api.routes.subjects import SubjectIdPath, code_path, known_code, valid_subject_id
from api.schemas import AttestationPublic

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])

CERTIFICATE_TYPE = "certificate_type"
CertificateTypePath = Annotated[
    str, code_path(CERTIFICATE_TYPE, "The kind of certificate (code list certificate_type).")
]


@router.get(
    "/{subject_id}/attestations/{certificate_type}",
    summary="Whether a subject holds a valid certificate of a type, without the certificate",
    description="Yes or no: the subject holds a certificate of this type whose status is valid "
    "and whose validity covers today (district time). Nothing of the certificate is returned: no "
    "number, no dates, no issuing case. A subject the hub has no record of gets `holds: false`, "
    "as one without the certificate does, so the answer never tells whether the hub knows the "
    "subject. Certificates are as of the latest gold build (`gold_version`); validity is judged "
    "on the day of the request. Audited like the profile.",
    dependencies=[Depends(SubjectAccess("subject_attestation"))],
    responses=problems(
        {
            401: "No token, or one that is not valid.",
            422: "A malformed subject id, an unknown certificate type, or a missing or unknown purpose.",
            503: "The request could not be audited.",
        }
    ),
)
def get_attestation(
    *,  # FastAPI passes every parameter by name
    subject_id: SubjectIdPath,
    certificate_type: CertificateTypePath,
    store: ProfileStoreDep,
    access: AccessDep,
    audit: AuditDep,
    today: TodayDep,
) -> AttestationPublic:
    normalised = valid_subject_id(subject_id, audit)
    known_code(certificate_type, CERTIFICATE_TYPE, audit)
    snapshot = store.snapshot()
    audit.gold_version = snapshot.version
    answer = attestation(snapshot.profiles.get(normalised), certificate_type, today, access)
    audit.returned(
        answer["returned"],
        grant_ids=answer["access"]["grant_ids"],
        masked=answer["masked"],
        withheld=answer["withheld"],
    )
    return AttestationPublic(
        subject_id=normalised,
        certificate_type=certificate_type,
        holds=answer["holds"],
        checked_on=today,
        gold_version=snapshot.version,
        access=answer["access"],
        withheld=answer["withheld"],
    )
