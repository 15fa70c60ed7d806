"""Broken files and schema drift are recognised per department, with the problem named."""

import datetime as dt
import json

import pytest

from hub.settings import Settings
from hub.simulator import DirtyRates, simulate
from jobs.departments import load_mappings
from jobs.sources import holds_records, payload_problem

pytestmark = pytest.mark.unit

DAY = dt.date(2026, 11, 24)
FILES = {
    "market_regulation": "market_regulation/2026-11-24/cases.csv",
    "food_drug": "food_drug/2026-11-24/cases.jsonl",
}


def _exports(tmp_path, **faults: float) -> dict[str, bytes]:
    settings = Settings(home=tmp_path)
    simulate(settings, DAY, seed=2, cases_per_day=40, dirty=DirtyRates(**faults))
    payloads = {d: (settings.sources_dir / f).read_bytes() for d, f in FILES.items()}
    payloads["health"] = (
        tmp_path / "buckets" / "dept-health" / "exports" / "2026-11-24" / "cases-0001.json"
    ).read_bytes()
    return payloads


def test_clean_exports_pass(tmp_path) -> None:
    mappings = load_mappings()
    for department, payload in _exports(tmp_path).items():
        assert payload_problem(mappings[department], "x", payload) is None, department


def test_truncated_files_are_named(tmp_path) -> None:
    mappings = load_mappings()
    problems = {
        d: payload_problem(mappings[d], "x", p) for d, p in _exports(tmp_path, truncated_file=1.0).items()
    }
    assert problems["market_regulation"] == "truncated: the file ends inside its last record"
    assert problems["food_drug"] == "truncated: the file ends inside its last record"
    assert str(problems["health"]).startswith("truncated or malformed JSON")


def test_wrong_encodings_are_named(tmp_path) -> None:
    mappings = load_mappings()
    problems = {
        d: payload_problem(mappings[d], "x", p) for d, p in _exports(tmp_path, wrong_encoding=1.0).items()
    }
    assert problems["market_regulation"] == "wrong encoding: declared gbk but the file is UTF-8"
    assert str(problems["food_drug"]).startswith("wrong encoding: not valid utf-8")
    assert str(problems["health"]).startswith("wrong encoding: not valid utf-8")


def test_renamed_columns_are_reported_as_drift(tmp_path) -> None:
    mappings = load_mappings()
    problems = {
        d: payload_problem(mappings[d], "x", p) for d, p in _exports(tmp_path, renamed_column=1.0).items()
    }
    assert problems == {
        "market_regulation": "schema drift: expected field(s) 受理渠道 missing; unexpected field(s) 办理渠道",
        "food_drug": "schema drift: expected field(s) channel missing; unexpected field(s) channelCode",
        "health": "schema drift: expected field(s) channel missing; unexpected field(s) channel_code",
    }


def test_an_empty_page_is_not_a_problem() -> None:
    housing = load_mappings()["housing_construction"]
    page = json.dumps({"page": 1, "total_pages": 0, "data": []}).encode()
    assert payload_problem(housing, "page-00001.json", page) is None


def test_a_quiet_days_export_holds_no_records(tmp_path) -> None:
    """So two quiet days' identical exports are not taken for one delivered twice."""
    mappings = load_mappings()
    for department, payload in _exports(tmp_path).items():
        assert holds_records(mappings[department], payload), department
    quiet = {
        "market_regulation": "案件编号,状态\r\n".encode("gbk"),
        "food_drug": b"",
        "health": b"[]",
        "housing_construction": b'{"data": [], "page": 1, "total_pages": 1}',
    }
    for department, payload in quiet.items():
        assert not holds_records(mappings[department], payload), department
