"""The hub's own log lines (API, jobs, CLI): text for a person at a terminal, or one JSON object per
line for a log collector (`HUB_LOG_FORMAT=json`).

Lines carry what they are about as fields, not only in their message: the request id, the calling
client and its department in the API; the department, batch, contract and file in the jobs. A
field comes from the record's `extra=` or from `log_context`, which binds fields for everything
logged inside it (the API's middleware binds each request's id that way).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from typing import Any, Literal, TextIO

# The loggers the hub's own code logs to; other libraries' stay as their host configures them.
HUB_LOGGERS = ("hub", "api", "jobs", "quality")
# The fields a line may carry besides its message. Named here so a typo in an `extra=` is not a
# field the collector never sees, and so a record's other attributes (args, stack) stay out.
CONTEXT_FIELDS = (
    "request_id",
    "client_id",
    "department",
    "endpoint",
    "method",
    "status",
    "duration_ms",
    "dag_id",
    "task_id",
    "run_id",
    "batch_id",
    "contract",
    "file",
    "error_type",
)

LogFormat = Literal["text", "json"]

_bound: ContextVar[Mapping[str, Any]] = ContextVar("hub_log_context", default={})  # noqa: B039


def bind_log_context(**fields: Any) -> Token[Mapping[str, Any]]:
    """Bind fields (None ones left out) for what is logged from here in this context; hand the
    token back to `unbind_log_context`."""
    return _bound.set({**_bound.get(), **{k: v for k, v in fields.items() if v is not None}})


def unbind_log_context(token: Token[Mapping[str, Any]]) -> None:
    _bound.reset(token)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = bind_log_context(**fields)
    try:
        yield
    finally:
        unbind_log_context(token)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context fields of a record: those bound around it, overridden by its own `extra=`."""
    fields = dict(_bound.get())
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            fields[name] = value
    return fields


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: `at` (UTC, ISO 8601), `level`, `logger`, `message`, the context
    fields, and `exception` (the traceback) when one was logged. Non-ASCII text (department names,
    reasons in Chinese) is kept as is."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **record_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
            line.setdefault("error_type", record.exc_info[0].__name__ if record.exc_info[0] else None)
        # A value json cannot encode (a date, a path) is written as its text, not dropped.
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message [field=value ...]`, for reading at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = record_fields(record)
        if not fields:
            return text
        head, _, trace = text.partition("\n")
        suffix = " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        return head + suffix + ("\n" + trace if trace else "")


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return JsonLinesFormatter() if log_format == "json" else TextFormatter()


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when a line is logged, so a stream swapped in and closed
    later (a test runner's capture) is never written to after it is gone."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(log_format: LogFormat, level: str, also: tuple[str, ...] = ()) -> None:
    """Send the hub's loggers to stderr in `log_format` at `level`, replacing what an earlier call
    installed. For the processes the hub starts itself (`hub serve`, the CLI), where nothing else
    configured the root logger; their lines still propagate to it, so a host that did (Airflow's
    task logs, pytest's capture) sees them too. `also`: other loggers to format the same way."""
    handler = _StderrHandler()
    handler.setFormatter(formatter_for(log_format))
    for name in (*HUB_LOGGERS, *also):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
