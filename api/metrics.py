"""The API's Prometheus metrics, served at `/metrics`, and one log line per request.

Labels name the route's template (`/v1/subjects/{subject_id}`), never the path asked for: a path
holds a subject id, which is personal data and would make a new series per applicant. A request
that matched no route counts under `unmatched`, so probing for paths cannot add series either.

Each API process keeps its own registry (a replica is scraped on its own); `/metrics` is open
unless `HUB_METRICS_TOKEN` is set, then it wants that bearer token.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.snapshots import SnapshotStore
from api.tokens import Caller

log = logging.getLogger("api.requests")

CALLER_SCOPE_KEY = "approval_hub.caller"
REQUEST_ID_SCOPE_KEY = "approval_hub.request_id"
UNMATCHED = "unmatched"
# A request without a valid token has no department.
NO_DEPARTMENT = "none"
# Seconds; the API answers from memory in milliseconds, a download link or an audit sync can take
# tens of them, and anything past 5 s is an incident whatever its exact figure.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServedVersions(Collector):
    """The version of each table the API serves, read from its stores when scraped: compared with
    the lake's latest version (`hub lake history`), it shows an API serving stale data."""

    def __init__(self, stores: Sequence[SnapshotStore[Any]]) -> None:
        self.stores = stores

    def collect(self) -> Iterator[GaugeMetricFamily]:
        served = GaugeMetricFamily(
            "hub_api_served_table_version",
            "Version of each table in the snapshot the API serves (-1: not there yet).",
            labels=["table"],
        )
        for store in self.stores:
            for table, version in store.served_versions.items():
                served.add_metric([table], version)
        yield served


class ApiMetrics:
    """The API's collectors, on a registry of their own (one per app, so apps built side by side
    in one process, as the tests do, count apart)."""

    def __init__(self, stores: Sequence[SnapshotStore[Any]] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(ServedVersions(stores))
        self.requests = Counter(
            "hub_api_requests",
            "Requests answered, by the caller's department, route template, method and status.",
            ["department", "endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_api_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template.",
            ["endpoint", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.audit_write_failures = Counter(
            "hub_api_audit_write_failures",
            "Audit records that could not be journalled; each such request was answered 503.",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def answered(self, department: str, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Counts and times one request."""
        # Each series' child kept: `labels` checks and locks on every call, for a child that,
        # once made, never changes.
        key = (department, endpoint, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(department, endpoint, method, str(status)),
                self.latency.labels(endpoint, method),
            )
        count, latency = children
        count.inc()
        latency.observe(seconds)


def route_template(scope: Scope, root_path_before: str) -> str:
    """The template of the route that answered, as the router left it in the scope; a mounted
    app's requests count under its mount path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    mounted = str(scope.get("root_path", ""))
    if mounted != root_path_before:
        return mounted.removeprefix(root_path_before) + "/{path}"
    return UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request, then logs one line for it. Installed outermost, so it
    sees the status the client got (an audit failure's 503 included)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            self._count(scope, root_path, status, time.perf_counter() - started)

    def _count(self, scope: Scope, root_path: str, status: int, seconds: float) -> None:
        endpoint = route_template(scope, root_path)
        method = str(scope.get("method", ""))
        caller: Caller | None = scope.get(CALLER_SCOPE_KEY)
        department = caller.department if caller else NO_DEPARTMENT
        self.metrics.answered(department, endpoint, method, status, seconds)
        if not log.isEnabledFor(logging.INFO):
            return  # nor build the line's fields
        log.info(
            "%s %s %d in %.1f ms",
            method,
            endpoint,
            status,
            seconds * 1000,
            extra={
                "request_id": scope.get(REQUEST_ID_SCOPE_KEY),
                "client_id": caller.client_id if caller else None,
                "department": caller.department if caller else None,
                "endpoint": endpoint,
                "method": method,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """The API's metrics in Prometheus' text format."""
    token = request.app.state.settings.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        # Compared in constant time: the token is a secret a timing difference could leak.
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(
                status_code=401,
                detail="/metrics wants the scraper's bearer token (HUB_METRICS_TOKEN)",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    api_metrics: ApiMetrics = request.app.state.metrics
    return Response(api_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
