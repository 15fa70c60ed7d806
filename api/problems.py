"""Errors as RFC 9457 problem details (`application/problem+json`), in responses and in the OpenAPI
document.

Every error the API answers, whoever raised it (a route, a dependency, FastAPI's request
validation, the router's 404 and 405, an unexpected exception, the audit's 503), has one shape, so
a department's system reads the reason from one place: `detail`. The token endpoint is the one
exception: OAuth2 clients read `error` and `error_description` (RFC 6749 §5.2), so it keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import ProblemDetail

PROBLEM_JSON = "application/problem+json"
# No problem type of our own is registered anywhere a client could look it up; RFC 9457 §4.2.1
# says `about:blank` then, with the status phrase as the title and the reason in `detail`.
ABOUT_BLANK = "about:blank"
# The one operation whose errors keep OAuth2's shape.
OAUTH2_ERROR_PATHS = frozenset({"/v1/token"})
REF_TEMPLATE = "#/components/schemas/{model}"
PROBLEM_SCHEMA_REF = {"$ref": REF_TEMPLATE.format(model="ProblemDetail")}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


# RFC 9110's names where Python 3.11's http module still has RFC 7231's.
RFC_9110_PHRASES = {413: "Content Too Large", 416: "Range Not Satisfiable", 422: "Unprocessable Content"}


def title_of(status: int) -> str:
    if status in RFC_9110_PHRASES:
        return RFC_9110_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, detail: str, instance: str) -> ProblemDetail:
    return ProblemDetail(
        type=ABOUT_BLANK, title=title_of(status), status=status, detail=detail, instance=instance
    )


def problem_response(
    status: int, detail: str, instance: str, headers: Mapping[str, str] | None = None
) -> ProblemResponse:
    return ProblemResponse(
        problem(status, detail, instance).model_dump(), status_code=status, headers=dict(headers or {})
    )


def problem_body(status: int, detail: str, instance: str) -> bytes:
    """The encoded body, for code that answers below FastAPI (the audit middleware)."""
    return json.dumps(problem(status, detail, instance).model_dump(), ensure_ascii=False).encode()


# FastAPI's answer to a JSON body it cannot decode as text (bytes that are not UTF-8); a body that
# is text but not JSON is a validation error (422) instead.
FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"
UNREADABLE_BODY = "the body could not be read: JSON text in UTF-8 is expected"


def http_error_response(request: Request, exc: Exception) -> ProblemResponse:
    """A 4xx a route or dependency raised (401, 403, 404, 422), FastAPI's 400 for a body it could
    not read, or the router's 404 and 405."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, ensure_ascii=False)
    if exc.status_code == 400 and detail == FASTAPI_UNREADABLE_BODY:
        detail = UNREADABLE_BODY
    return problem_response(exc.status_code, detail, request.url.path, exc.headers)


def validation_error_response(request: Request, exc: Exception) -> ProblemResponse:
    """A request FastAPI could not read (a missing `purpose`, an overlong id): the reasons in one
    line, where a window's system reads every other reason."""
    assert isinstance(exc, RequestValidationError)
    reasons = "; ".join(
        f"{' '.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    return problem_response(422, reasons, request.url.path)


def unexpected_error_response(request: Request, exc: Exception) -> ProblemResponse:
    # Nothing of the exception is told: it may hold data the caller may not see.
    return problem_response(500, "an unexpected error; the operators have the details", request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    # Registered on Exception, Starlette runs it in its outermost middleware and re-raises, so the
    # audit middleware still sees the crash and journals it.
    app.add_exception_handler(Exception, unexpected_error_response)


def problems(described: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses` for its errors, each with its description; `problem_openapi` moves
    them to the problem media type."""
    return {status: {"model": ProblemDetail, "description": text} for status, text in described.items()}


def _without_validation_error(operation: dict[str, Any]) -> None:
    # Every field of a token request is optional to FastAPI (a missing one is OAuth2's
    # invalid_request), so FastAPI's 422 never happens there.
    operation.get("responses", {}).pop("422", None)


def _with_unreadable_body(operation: dict[str, Any]) -> None:
    # FastAPI answers 400 for any JSON body whose bytes are not UTF-8, before the route runs.
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        operation.setdefault("responses", {}).setdefault(
            "400", {"description": "A body that is not JSON text in UTF-8."}
        )


def _as_problems(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        if not str(status).startswith(("4", "5")):
            continue
        content = response.setdefault("content", {})
        content.pop("application/json", None)
        # FastAPI's own 422 (HTTPValidationError) is answered as a problem too.
        content[PROBLEM_JSON] = {"schema": PROBLEM_SCHEMA_REF}


def problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi` with every error response of every operation but the token endpoint's
    declared as `application/problem+json`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            openapi_version=app.openapi_version,
        )
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                if path in OAUTH2_ERROR_PATHS:
                    _without_validation_error(operation)
                else:
                    _with_unreadable_body(operation)
                    _as_problems(operation)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["ProblemDetail"] = ProblemDetail.model_json_schema(ref_template=REF_TEMPLATE)
        # Referenced by FastAPI's default 422s only, which are problems now.
        text = json.dumps(document["paths"])
        for unused in ("HTTPValidationError", "ValidationError"):
            if f"#/components/schemas/{unused}" not in text:
                schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    return openapi
