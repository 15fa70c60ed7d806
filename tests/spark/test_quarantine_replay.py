"""Rows quarantined for an unmapped code are released by a replay once the mapping is fixed; the
materials and events of the held cases wait with them (their case is not in silver) and are
released after them."""

import datetime as dt
import json
import shutil

import pytest
import yaml

from hub.settings import REPO_ROOT, Settings
from hub.simulator import DirtyRates, simulate
from hub.storage import read_table_rows
from jobs import pipeline
from jobs.departments import load_mappings

pytestmark = pytest.mark.spark


def carried(line: str, path: str) -> int:
    """How many records of a nested contract a JSON Lines record carries at `path`."""
    value = json.loads(line).get(path)
    return len(value) if isinstance(value, list) else int(value is not None)


def test_replay_after_mapping_fix_drains_quarantine(hub_settings: Settings, spark, tmp_path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO_ROOT / "contracts" / "mappings", mappings)
    settings = hub_settings.model_copy(update={"home": tmp_path / "home", "mappings_dir": mappings})
    day = dt.date(2026, 11, 20)
    simulate(settings, day, seed=5, cases_per_day=120, dirty=DirtyRates.clean())
    export = settings.sources_dir / "food_drug" / day.isoformat() / "cases.jsonl"
    # The department starts sending a channel code the hub has never seen: a mini-program.
    lines = export.read_text(encoding="utf-8").splitlines()
    changed = set(range(0, len(lines), 5))
    for i in changed:
        record = json.loads(lines[i])
        record["channel"] = "MINIPROGRAM"
        lines[i] = json.dumps(record, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")

    pipeline.publish_catalogue(settings)
    loaded = pipeline.load_bronze(settings, pipeline.ingest(settings, "food_drug", day))
    done = {r["contract"]: r for r in pipeline.conform_silver(settings, {"food_drug": [loaded["batch_id"]]})}
    # Records of each nested contract in the export, and in the lines whose case is held.
    nested = load_mappings(mappings)["food_drug"].nested
    sent = {name: sum(carried(line, spec.path) for line in lines) for name, spec in nested.items()}
    held_nested = {name: sum(carried(lines[i], spec.path) for i in changed) for name, spec in nested.items()}
    assert set(sent) == {"subject", "material", "case_event", "certificate", "evaluation", "courier_delivery"}
    # The applicant's details do not hang on the case: they reach silver even while it is held.
    held_nested["subject"] = 0
    assert done["case"]["rows_quarantined"] == len(changed)
    for name in nested:
        assert (done[name]["rows_in"], done[name]["rows_quarantined"]) == (sent[name], held_nested[name]), (
            name
        )
    held = read_table_rows(settings, "silver", "quarantine")
    assert len(held) == len(changed) + sum(held_nested.values())
    assert {tuple(r["rule_ids"]) for r in held} == {("case.channel.code_list",)} | {
        (f"{name}.case_id.references",) for name, n in held_nested.items() if n
    }
    rule_counts = {
        r["rule_id"]: r["failed_rows"] for r in read_table_rows(settings, "quality", "rule_results")
    }
    assert rule_counts["case.channel.code_list"] == len(changed)
    assert rule_counts["case.subject_id.valid_id"] == 0

    # Replaying before the fix releases nothing and loses nothing.
    assert pipeline.replay_quarantine(settings) == {
        "replayed": len(held),
        "released": 0,
        "still_quarantined": len(held),
    }
    assert len(read_table_rows(settings, "silver", "quarantine")) == len(held)

    food_drug = mappings / "food_drug.yaml"
    mapping = yaml.safe_load(food_drug.read_text(encoding="utf-8"))
    mapping["codes"]["channel"]["MINIPROGRAM"] = "wechat"
    food_drug.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")

    assert pipeline.replay_quarantine(settings)["released"] == len(held)
    assert read_table_rows(settings, "silver", "quarantine") == []
    applicants = {json.loads(line)["applicant"]["idNo"] for line in lines}
    for name, count in {**sent, "subject": len(applicants)}.items():
        assert len(read_table_rows(settings, "silver", name)) == count, name
    cases = read_table_rows(settings, "silver", "case")
    assert len(cases) == len(lines)
    released_ids = {json.loads(lines[i])["caseNo"] for i in changed}
    assert {c["channel"] for c in cases if c["case_id"] in released_ids} == {"wechat"}
