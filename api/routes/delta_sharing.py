"""The open Delta Sharing protocol under `/delta-sharing/`, serving the analyst marts' suppressed
snapshots to recipients (`hub sharing add-recipient`), so an analyst reads them with the standard
`delta-sharing` client.

Kept out of the API's OpenAPI document: the protocol's own specification describes these
endpoints, their newline-delimited JSON and their errors (`errorCode` and `message`, sent here
inside the hub's problem details), and department clients never call them.

What is implemented: list shares, get a share, list schemas, list tables of a schema or of the
share, the table version (HEAD and GET, header `delta-table-version`), the table metadata and the
table query, in the `parquet` response format (a client offering `delta` is answered `parquet`,
which every client reads). A query's `version` reads the mart as gold was then; `timestamp`,
change data feed and `startingVersion` are refused. Predicate and limit hints are hints: the one
file per table is served whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any

from deltalake.exceptions import DeltaError, TableNotFoundError
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.delta_sharing import LOCAL_FILES_PATH, PREFIX, SharingServer, table_id
from api.downloads import LinkRefusedError, SignedLocalMaterialFiles
from api.problems import problem
from hub.sharing import InvalidSharingTokenError, Recipient, SharedTable, delta_schema_string

router = APIRouter(prefix=PREFIX, include_in_schema=False)
local_files_router = APIRouter(prefix=LOCAL_FILES_PATH, include_in_schema=False)

NDJSON = "application/x-ndjson; charset=utf-8"
VERSION_HEADER = "delta-table-version"


class SharingProtocolError(Exception):
    """An error the protocol names (`errorCode`), with its reason."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def sharing_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SharingProtocolError)
    body = problem(exc.status, exc.message, request.url.path).model_dump()
    # The protocol's members beside RFC 9457's (extension members are allowed there).
    body |= {"errorCode": exc.error_code, "message": exc.message}
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="approval-hub delta sharing"'
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=exc.status,
        media_type="application/problem+json",
        headers=headers,
    )


def install(app: FastAPI, server: SharingServer) -> None:
    app.state.sharing_server = server
    app.add_exception_handler(SharingProtocolError, sharing_error_response)
    app.include_router(router)
    if isinstance(server.files, SignedLocalMaterialFiles):
        app.include_router(local_files_router)


def get_sharing_server(request: Request) -> SharingServer:
    server: SharingServer = request.app.state.sharing_server
    return server


SharingServerDep = Annotated[SharingServer, Depends(get_sharing_server)]


def get_recipient(
    server: SharingServerDep, authorization: Annotated[str | None, Header()] = None
) -> Recipient:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SharingProtocolError(401, "UNAUTHENTICATED", "a bearer token is required: the profile's")
    try:
        return server.recipient(token.strip())
    except InvalidSharingTokenError as error:
        raise SharingProtocolError(401, "UNAUTHENTICATED", str(error)) from error


RecipientDep = Annotated[Recipient, Depends(get_recipient)]
MaxResults = Annotated[int | None, Query(alias="maxResults", ge=1, le=1000)]
PageToken = Annotated[str | None, Query(alias="pageToken", max_length=16)]


def _own_share(recipient: Recipient, share: str) -> str:
    # The same answer for a share that exists and one that does not: no share names leak.
    if share != recipient.share:
        raise SharingProtocolError(
            403, "PERMISSION_DENIED", f"this token is for share {recipient.share!r}, not {share!r}"
        )
    return share


def _page(items: list[dict[str, Any]], max_results: int | None, page_token: str | None) -> dict[str, Any]:
    """A page of `items`; the page token is the offset of the next one."""
    start = int(page_token) if page_token and page_token.isdigit() else 0
    if page_token and not page_token.isdigit():
        raise SharingProtocolError(400, "INVALID_PARAMETER_VALUE", f"unknown pageToken {page_token!r}")
    end = len(items) if max_results is None else start + max_results
    page: dict[str, Any] = {"items": items[start:end]}
    if end < len(items):
        page["nextPageToken"] = str(end)
    return page


def _table(server: SharingServer, recipient: Recipient, share: str, schema: str, name: str) -> SharedTable:
    table = server.shares.table(_own_share(recipient, share), schema, name)
    if table is None:
        raise SharingProtocolError(404, "RESOURCE_DOES_NOT_EXIST", f"no table {share}.{schema}.{name}")
    return table


def _version(server: SharingServer, table: SharedTable) -> int:
    try:
        return server.version(table)
    except TableNotFoundError as error:
        raise SharingProtocolError(
            404, "RESOURCE_DOES_NOT_EXIST", f"{table.name} has not been built in gold yet"
        ) from error


@router.get("/shares")
def list_shares(recipient: RecipientDep, max_results: MaxResults = None, page_token: PageToken = None) -> Any:
    return _page([{"name": recipient.share}], max_results, page_token)


@router.get("/shares/{share}")
def get_share(share: str, recipient: RecipientDep) -> Any:
    return {"share": {"name": _own_share(recipient, share)}}


@router.get("/shares/{share}/schemas")
def list_schemas(
    *,  # FastAPI passes every parameter by name
    share: str,
    recipient: RecipientDep,
    server: SharingServerDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> Any:
    schemas = server.shares.shares[_own_share(recipient, share)]
    return _page([{"name": s, "share": share} for s in schemas], max_results, page_token)


def _tables_json(tables: Iterable[SharedTable]) -> list[dict[str, Any]]:
    return [{"name": t.name, "schema": t.schema, "share": t.share, "id": table_id(t)} for t in tables]


@router.get("/shares/{share}/schemas/{schema}/tables")
def list_tables(
    *,  # FastAPI passes every parameter by name
    share: str,
    schema: str,
    recipient: RecipientDep,
    server: SharingServerDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> Any:
    if schema not in server.shares.shares[_own_share(recipient, share)]:
        raise SharingProtocolError(404, "RESOURCE_DOES_NOT_EXIST", f"no schema {share}.{schema}")
    return _page(_tables_json(server.shares.tables(share, schema)), max_results, page_token)


@router.get("/shares/{share}/all-tables")
def list_all_tables(
    *,  # FastAPI passes every parameter by name
    share: str,
    recipient: RecipientDep,
    server: SharingServerDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> Any:
    return _page(_tables_json(server.shares.tables(_own_share(recipient, share))), max_results, page_token)


@router.api_route("/shares/{share}/schemas/{schema}/tables/{table}/version", methods=["GET", "HEAD"])
def table_version(
    *,  # FastAPI passes every parameter by name
    share: str,
    schema: str,
    table: str,
    recipient: RecipientDep,
    server: SharingServerDep,
    starting_timestamp: Annotated[str | None, Query(alias="startingTimestamp", max_length=64)] = None,
) -> Response:
    if starting_timestamp is not None:
        raise SharingProtocolError(400, "INVALID_PARAMETER_VALUE", "startingTimestamp is not supported")
    version = _version(server, _table(server, recipient, share, schema, table))
    return Response(headers={VERSION_HEADER: str(version)})


def _ndjson(version: int, lines: list[dict[str, Any]]) -> Response:
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    return Response(body, media_type=NDJSON, headers={VERSION_HEADER: str(version)})


def _metadata_lines(server: SharingServer, table: SharedTable, version: int) -> list[dict[str, Any]]:
    snapshot = server.snapshot(table, version)
    return [
        {"protocol": {"minReaderVersion": 1}},
        {
            "metaData": {
                "id": table_id(table),
                "name": table.name,
                "format": {"provider": "parquet"},
                "schemaString": delta_schema_string(snapshot.schema),
                "partitionColumns": [],
                "configuration": {},
                "version": version,
                "size": snapshot.size,
                "numFiles": 1,
            }
        },
    ]


@router.get("/shares/{share}/schemas/{schema}/tables/{table}/metadata")
def table_metadata(
    share: str, schema: str, table: str, recipient: RecipientDep, server: SharingServerDep
) -> Response:
    shared = _table(server, recipient, share, schema, table)
    version = _version(server, shared)
    return _ndjson(version, _metadata_lines(server, shared, version))


class QueryRequest(BaseModel):
    """The query's body; the hints are accepted and not applied (they are hints)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    predicate_hints: list[str] | None = Field(default=None, alias="predicateHints")
    json_predicate_hints: str | None = Field(default=None, alias="jsonPredicateHints")
    limit_hint: int | None = Field(default=None, alias="limitHint", ge=0)
    version: int | None = Field(default=None, ge=0)
    timestamp: str | None = None
    starting_version: int | None = Field(default=None, alias="startingVersion")
    ending_version: int | None = Field(default=None, alias="endingVersion")


@router.post("/shares/{share}/schemas/{schema}/tables/{table}/query")
def query_table(
    *,  # FastAPI passes every parameter by name
    request: Request,
    share: str,
    schema: str,
    table: str,
    recipient: RecipientDep,
    server: SharingServerDep,
    query: QueryRequest | None = None,
) -> Response:
    query = query or QueryRequest()
    if query.timestamp is not None or query.starting_version is not None or query.ending_version is not None:
        raise SharingProtocolError(
            400, "INVALID_PARAMETER_VALUE", "only the latest version or a `version` can be queried"
        )
    shared = _table(server, recipient, share, schema, table)
    latest = _version(server, shared)
    version = latest if query.version is None else query.version
    if version > latest:
        raise SharingProtocolError(400, "INVALID_PARAMETER_VALUE", f"version {version} is after {latest}")
    try:
        lines = _metadata_lines(server, shared, version)
        snapshot = server.snapshot(shared, version)
    except (DeltaError, OSError) as error:
        # An old version whose log or files gold's retention has removed.
        raise SharingProtocolError(
            404, "RESOURCE_DOES_NOT_EXIST", f"version {version} of {table} can no longer be read"
        ) from error
    link = server.link(snapshot, str(request.base_url))
    lines.append(
        {
            "file": {
                "url": link.url,
                "id": snapshot.key,
                "partitionValues": {},
                "size": snapshot.size,
                "stats": json.dumps({"numRecords": snapshot.rows}),
                "version": version,
                "expirationTimestamp": int(link.expires_at.timestamp() * 1000),
            }
        }
    )
    return _ndjson(version, lines)


@local_files_router.api_route("/{object_key:path}", methods=["GET", "HEAD"])
def get_shared_file(
    object_key: str,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(max_length=64)],
    server: SharingServerDep,
) -> FileResponse:
    """A snapshot's Parquet file, through a link a query handed out (local storage only). Needs no
    token: the link's signature is the permission, as with a presigned URL on S3."""
    assert isinstance(server.files, SignedLocalMaterialFiles)
    try:
        path = server.files.open(object_key, expires, signature)
    except LinkRefusedError as error:
        raise HTTPException(status_code=403, detail=str(error)) from error
    except FileNotFoundError as error:
        raise HTTPException(status_code=404, detail="the file is no longer there") from error
    return FileResponse(
        path, media_type="application/octet-stream", headers={"Cache-Control": "private, no-store"}
    )
