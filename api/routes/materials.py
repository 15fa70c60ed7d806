"""`GET /v1/subjects/{subject_id}/materials/{material_type}/download`: a short-lived link to the
file of the subject's material on file of a type, for a caller that may have it; and, on local
storage, `GET /v1/material-files/{key}`, which serves what such a link names (see api.downloads).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse

from api.access import material_file_refusal
from api.audit import AuditDep, SubjectAccess
from api.deps import AccessDep, MaterialFilesDep, ProfileStoreDep
from api.downloads import LOCAL_FILES_PATH, LinkRefusedError, SignedLocalMaterialFiles
from api.problems import problems
from api.routes.subjects import SubjectIdPath, code_path, known_code, valid_subject_id
from api.schemas import AccessPublic, MaterialDownloadPublic

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
local_files_router = APIRouter(prefix=LOCAL_FILES_PATH, tags=["materials"])

MATERIAL_TYPE = "material_type"
MaterialTypePath = Annotated[str, code_path(MATERIAL_TYPE, "The kind of material (code list material_type).")]
RETURNED = ("material_id", "department", "sha256", "url")


@router.get(
    "/{subject_id}/materials/{material_type}/download",
    summary="A short-lived link to the file of a material on file",
    description="The material on file of this type (the one the profile's `materials_on_file` "
    "and the reuse plan show), with a link to its file that works for `expires_in` seconds, "
    "with no token. Only for a caller that may have the file: the department whose case it came "
    "with, or one holding a grant for the purpose that lets personal data through unmasked (a "
    "file cannot be masked, and an ID card copy or a health certificate is personal data); "
    "otherwise 403 with the reason. Audited like the profile; fetching the link is not.",
    dependencies=[Depends(SubjectAccess("subject_material_download"))],
    responses=problems(
        {
            401: "No token, or one that is not valid.",
            403: "The caller may not have this file, and why.",
            404: "No material of this type on file for the subject, or its file is not in the store.",
            422: "A malformed subject id, an unknown material type, or a missing or unknown purpose.",
            503: "The request could not be audited.",
        }
    ),
)
def get_material_download(
    *,  # FastAPI passes every parameter by name
    request: Request,
    subject_id: SubjectIdPath,
    material_type: MaterialTypePath,
    profiles: ProfileStoreDep,
    files: MaterialFilesDep,
    access: AccessDep,
    audit: AuditDep,
) -> MaterialDownloadPublic:
    normalised = valid_subject_id(subject_id, audit)
    known_code(material_type, MATERIAL_TYPE, audit)
    snapshot = profiles.snapshot()
    audit.gold_version = snapshot.version
    on_file = (snapshot.profiles.get(normalised) or {}).get("materials_on_file") or []
    material = next((m for m in on_file if m["material_type"] == material_type), None)
    if material is None:
        # The same answer whether the hub knows the subject or not.
        audit.outcome = "not_found"
        raise HTTPException(status_code=404, detail=f"no {material_type} of {normalised} on file")
    refusal = material_file_refusal(material, access)
    if refusal is not None:
        raise HTTPException(status_code=403, detail=refusal)
    link = files.link(material["file_object_key"], str(request.base_url))
    if link is None:
        audit.outcome = "not_found"
        raise HTTPException(
            status_code=404,
            detail=f"the file of {normalised}'s {material_type} is not in the object store",
        )
    grant_ids = [g.grant_id for g in access.grants]
    audit.returned(RETURNED, grant_ids=grant_ids)
    return MaterialDownloadPublic(
        subject_id=normalised,
        material_type=material_type,
        material_id=material["material_id"],
        department=material["department"],
        sha256=material["sha256"],
        url=link.url,
        expires_at=link.expires_at,
        expires_in=int(files.lifetime.total_seconds()),
        gold_version=snapshot.version,
        access=AccessPublic(
            department=access.department,
            purpose=access.purpose,
            grant_ids=grant_ids,
            unmasked=access.unmasked,
        ),
    )


@local_files_router.get(
    "/{object_key:path}",
    summary="A material file, through a link from the download endpoint (local storage only)",
    description="What a link handed out by `/v1/subjects/{subject_id}/materials/{material_type}/"
    "download` names, while it is valid. Needs no token: the link's signature is the permission, "
    "as with the object store's presigned URLs.",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file."},
        **problems(
            {
                403: "The link's signature is not valid, or it has expired.",
                404: "The file is no longer there.",
                422: "A link without its expiry or signature.",
            }
        ),
    },
)
def get_local_material_file(
    object_key: str,
    expires: Annotated[int, Query(description="When the link stops working, in seconds since 1970 (UTC).")],
    signature: Annotated[str, Query(max_length=64, description="The link's HMAC-SHA256, in hex.")],
    files: MaterialFilesDep,
) -> FileResponse:
    assert isinstance(files, SignedLocalMaterialFiles)
    try:
        path = files.open(object_key, expires, signature)
    except LinkRefusedError as error:
        raise HTTPException(status_code=403, detail=str(error)) from error
    except FileNotFoundError as error:
        raise HTTPException(status_code=404, detail="the file is no longer there") from error
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=path.name,
        headers={"Cache-Control": "private, no-store"},
    )
