"""Every request for subject data leaves an audit record, on disk before its response leaves.

`AuditMiddleware` gives each request an id (sent back in `X-Request-ID`) and a `PendingAudit`
the route fills in. A route that touches subject data declares `Depends(SubjectAccess(endpoint))`:
once the caller's token is valid, it marks the request for the audit with the caller, the subject
asked for and the purpose stated; the route adds what it returned, withheld and masked (as
`api.access` counted them). When the response starts, the middleware appends the record to the
journal (`hub.audit.AuditJournal`, synced to disk; the records of concurrent requests share a
write and a sync, `GroupCommit`) and only then lets the response go, whatever
produced it: the route, a 404 or 422 raised on the way, a validation error, or a crash (500). If
the record cannot be written, the client gets 503 and none of the data.

A request without a valid token is not audited: it has no caller to record, and its 401 reveals
nothing about the subject (the token is checked before anything is looked up). Auditing it would
let anyone make the journal sync to disk at will.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import CallerDep
from api.metrics import REQUEST_ID_SCOPE_KEY, ApiMetrics
from api.problems import PROBLEM_JSON, problem_body
from api.tokens import Caller
from hub.audit import (
    AuditJournal,
    AuditRecord,
    AuditWriteError,
    JournalRecord,
    WithheldValues,
    new_id,
    utc_now,
)
from hub.grants import purposes
from hub.logs import bind_log_context, unbind_log_context

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
SCOPE_KEY = "approval_hub.audit"
# What is recorded of a value the caller sent is cut to this length: a subject id or purpose is
# far shorter, and a long one is only noise (the routes refuse ids over 64 characters).
SENT_VALUE_CHARS = 64
OUTCOME_BY_STATUS = {200: "shown", 403: "forbidden", 404: "not_found", 422: "invalid_request"}


@dataclass
class PendingAudit:
    """What one request tells the audit; written by the middleware when the response starts."""

    request_id: str
    path: str = ""
    caller: Caller | None = None
    endpoint: str | None = None
    subject_id: str | None = None
    purpose: str | None = None
    outcome: str | None = None
    gold_version: int | None = None
    grant_ids: tuple[str, ...] = ()
    fields_returned: tuple[str, ...] = ()
    fields_masked: tuple[str, ...] = ()
    fields_withheld: tuple[WithheldValues, ...] = ()

    def returned(
        self,
        fields: list[str] | tuple[str, ...],
        *,
        grant_ids: list[str] | tuple[str, ...] = (),
        masked: list[str] | tuple[str, ...] = (),
        withheld: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    ) -> None:
        """The route's answer: these fields returned, under these grants; `withheld` as
        `api.access` reports it."""
        self.outcome = "shown"
        self.fields_returned = tuple(fields)
        self.grant_ids = tuple(grant_ids)
        self.fields_masked = tuple(masked)
        self.fields_withheld = tuple(
            WithheldValues(w["field"], w["department"], w["sharing_class"], w["count"]) for w in withheld
        )

    def record(self, status: int) -> AuditRecord | None:
        """The record of the response with `status`; None when the request is no subject access
        (not marked by `SubjectAccess`, or no valid token)."""
        if self.caller is None or self.endpoint is None:
            return None
        answered = status < 400
        by_status = OUTCOME_BY_STATUS.get(status, f"http_{status}")
        if status >= 500:
            outcome = "error"
        elif answered:
            outcome = self.outcome or by_status
        else:
            # The refusal the route named (not_found, invalid_subject_id, invalid_purpose), or
            # one FastAPI made (a missing parameter) named by its status.
            outcome = self.outcome if self.outcome not in (None, "shown") else by_status
        return AuditRecord(
            record_id=new_id(),
            request_id=self.request_id,
            at=utc_now(),
            client_id=self.caller.client_id,
            department=self.caller.department,
            purpose=self.purpose,
            subject_id=self.subject_id,
            endpoint=self.endpoint,
            status=status,
            outcome=outcome,
            gold_version=self.gold_version,
            grant_ids=self.grant_ids if answered else (),
            # An error response returns none of what the route had prepared.
            fields_returned=self.fields_returned if answered else (),
            fields_masked=self.fields_masked if answered else (),
            fields_withheld=self.fields_withheld if answered else (),
        )


def _sent(value: str | None) -> str | None:
    return value[:SENT_VALUE_CHARS] if value is not None else None


class GroupCommit:
    """Hands the records of concurrent requests to the journal together, from one worker thread.

    While a batch is written and synced, the records of the requests that answer meanwhile wait
    here; the next batch takes them all. Each request still waits until its own record is
    durable. One thread hop per batch, not per request: on a loaded event loop a worker thread
    waits for the interpreter lock each time it is handed work or hands back its result.
    """

    def __init__(self, journal: AuditJournal) -> None:
        self.journal = journal
        self._queued: list[tuple[JournalRecord, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, record: JournalRecord) -> None:
        """Returns once the record is on disk; raises when it could not be written."""
        durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((record, durable))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued())
        await durable

    async def _write_queued(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                error: Exception | None = None
                try:
                    await run_in_threadpool(self.journal.append_all, [record for record, _ in batch])
                    written = len(batch)
                except AuditWriteError as failed:
                    written, error = failed.durable, failed
                except Exception as failed:
                    written, error = 0, failed
                for position, (_, durable) in enumerate(batch):
                    if durable.done():
                        continue  # its request was cancelled (the client went away)
                    if position < written:
                        durable.set_result(None)
                    else:
                        durable.set_exception(AuditWriteError(f"the audit record was not written: {error}"))
        finally:
            self._writer = None


class AuditMiddleware:
    """Writes a request's audit record to the journal before its response starts to leave."""

    def __init__(self, app: ASGIApp, journal: AuditJournal, metrics: ApiMetrics) -> None:
        self.app = app
        self.journal = journal
        self.metrics = metrics
        self.commit = GroupCommit(journal)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pending = PendingAudit(request_id=new_id(), path=scope.get("path", ""))
        scope[SCOPE_KEY] = pending
        scope[REQUEST_ID_SCOPE_KEY] = pending.request_id
        # Whatever the request's code logs carries its id, the one its response and audit record carry.
        log_fields = bind_log_context(request_id=pending.request_id)
        started = False
        refused = False

        async def send_after_audit(message: Message) -> None:
            nonlocal started, refused
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = pending.request_id
                if not await self._append(pending, message["status"]):
                    refused = True
                    await self._refuse(pending, send)
                    return
            if not refused:
                await send(message)

        try:
            await self.app(scope, receive, send_after_audit)
        except Exception:
            # Answered with a 500 by the server error handler outside this middleware, after this.
            if not started:
                await self._append(pending, 500)
            raise
        finally:
            unbind_log_context(log_fields)

    async def _append(self, pending: PendingAudit, status: int) -> bool:
        record = pending.record(status)
        if record is None:
            return True
        try:
            await self.commit.append(record)
        except Exception:
            self.metrics.audit_write_failures.inc()
            log.exception(
                "could not journal the audit record of request %s (client %s); the response is withheld",
                pending.request_id,
                record.client_id,
                extra={
                    "client_id": record.client_id,
                    "department": record.department,
                    "endpoint": record.endpoint,
                },
            )
            return False
        return True

    async def _refuse(self, pending: PendingAudit, send: Send) -> None:
        body = problem_body(
            503, "the request could not be audited, so nothing is returned; retry", pending.path
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (REQUEST_ID_HEADER.lower().encode(), pending.request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def audit_of(scope: Scope) -> PendingAudit:
    """The request's pending audit, which `AuditMiddleware` put in its scope."""
    try:
        pending: PendingAudit = scope[SCOPE_KEY]
    except KeyError as error:
        # Serving subject data unaudited is worse than not serving it.
        raise RuntimeError(
            "AuditMiddleware is not installed: subject data is never served unaudited"
        ) from error
    return pending


async def pending_audit(request: Request) -> PendingAudit:
    return audit_of(request.scope)


AuditDep = Annotated[PendingAudit, Depends(pending_audit)]


class SubjectAccess:
    """A route dependency that marks a request for the audit as an access to subject data, once
    its caller is known, and gives the route the request's `PendingAudit`. Declared in the route's
    `dependencies` or as its first parameter, it runs before the route's other parameters are read,
    so a request refused for its purpose or subject id is audited too."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    async def __call__(self, request: Request, caller: CallerDep) -> PendingAudit:
        pending = audit_of(request.scope)
        pending.caller = caller
        pending.endpoint = self.endpoint
        # As sent; the route replaces it with the normalised id once it is checked.
        pending.subject_id = _sent(request.path_params.get("subject_id"))
        pending.purpose = _sent(request.query_params.get("purpose"))
        if pending.purpose not in purposes():
            pending.outcome = "invalid_purpose"
        return pending
