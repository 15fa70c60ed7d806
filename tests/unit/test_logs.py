"""The hub's log lines: JSON Lines for a collector, text for a terminal, with their context fields."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from hub.logs import (
    HUB_LOGGERS,
    JsonLinesFormatter,
    TextFormatter,
    configure_logging,
    log_context,
    record_fields,
)

pytestmark = pytest.mark.unit


def _record(message: str = "bronze %s: %d records", *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "hub.pipeline", logging.INFO, __file__, 1, message, args or ("food_drug-20261124", 70), None
    )
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_a_json_line_carries_the_message_and_the_fields_passed_with_it() -> None:
    line = json.loads(JsonLinesFormatter().format(_record(department="food_drug", batch_id="b-1")))
    assert line["message"] == "bronze food_drug-20261124: 70 records"
    assert (line["level"], line["logger"]) == ("INFO", "hub.pipeline")
    assert (line["department"], line["batch_id"]) == ("food_drug", "b-1")
    assert line["at"].endswith("+00:00")
    # Only the named fields: the record's own attributes (args, pathname) are not fields.
    assert "args" not in line
    assert "pathname" not in line


def test_fields_bound_around_a_line_reach_it_and_its_own_win() -> None:
    with log_context(request_id="r-1", department="health"):
        line = json.loads(JsonLinesFormatter().format(_record(department="food_drug")))
        nested = record_fields(_record())
    assert (line["request_id"], line["department"]) == ("r-1", "food_drug")
    assert nested == {"request_id": "r-1", "department": "health"}
    # Unbound once the block is left.
    assert record_fields(_record()) == {}


def test_chinese_text_is_kept_as_is_and_an_exception_goes_in_whole() -> None:
    try:
        raise IsADirectoryError(21, "Is a directory", "/sources/food_drug/2026-11-24/cases.jsonl")
    except OSError:
        record = _record("文件 %s 无法读取", "cases.jsonl")
        record.exc_info = sys.exc_info()
    text = JsonLinesFormatter().format(record)
    assert "文件 cases.jsonl 无法读取" in text
    assert "\n" not in text
    line = json.loads(text)
    assert line["error_type"] == "IsADirectoryError"
    assert "cases.jsonl" in line["exception"]
    assert line["exception"].startswith("Traceback")


def test_a_value_json_cannot_encode_is_written_as_its_text() -> None:
    import datetime as dt

    line = json.loads(JsonLinesFormatter().format(_record(batch_id=dt.date(2026, 11, 24))))
    assert line["batch_id"] == "2026-11-24"


def test_a_text_line_ends_with_its_fields() -> None:
    text = TextFormatter().format(_record(department="food_drug", batch_id="b-1"))
    assert text.endswith(
        "INFO hub.pipeline: bronze food_drug-20261124: 70 records [department=food_drug batch_id=b-1]"
    )


@pytest.fixture
def hub_loggers_restored() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in HUB_LOGGERS]
    saved = {logger.name: (logger.handlers[:], logger.level) for logger in loggers}
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("hub_loggers_restored")
def test_configured_loggers_write_one_json_line_each_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text", "INFO")
    configure_logging("json", "WARNING")  # replaces the first call's handler, does not add one
    logging.getLogger("api.audit").info("below the level")
    logging.getLogger("jobs.sources").warning("pull failed", extra={"department": "health"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["message"], line["department"]) for line in lines] == [
        ("jobs.sources", "pull failed", "health")
    ]
