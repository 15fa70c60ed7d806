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

pytestmark = pytest.mark.spark


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
    done = {r["contract"]: r for r in pipeline.conform_silver(settings, "food_drug", [loaded["batch_id"]])}
    cases_done, materials_done, events_done = done["case"], done["material"], done["case_event"]
    materials_sent = sum(len(json.loads(line)["materials"]) for line in lines)
    materials_held = sum(len(json.loads(lines[i])["materials"]) for i in changed)
    events_sent = sum(len(json.loads(line)["events"]) for line in lines)
    events_held = sum(len(json.loads(lines[i])["events"]) for i in changed)
    licences_sent = sum(json.loads(line)["licence"] is not None for line in lines)
    licences_held = sum(json.loads(lines[i])["licence"] is not None for i in changed)
    held = read_table_rows(settings, "silver", "quarantine")
    assert cases_done["contract"] == "case"
    assert cases_done["rows_quarantined"] == len(changed)
    assert materials_done["contract"] == "material"
    assert (materials_done["rows_in"], materials_done["rows_quarantined"]) == (materials_sent, materials_held)
    assert (events_done["rows_in"], events_done["rows_quarantined"]) == (events_sent, events_held)
    assert (done["certificate"]["rows_in"], done["certificate"]["rows_quarantined"]) == (
        licences_sent,
        licences_held,
    )
    assert len(held) == len(changed) + materials_held + events_held + licences_held
    assert {tuple(r["rule_ids"]) for r in held} == {
        ("case.channel.code_list",),
        ("material.case_id.references",),
        ("case_event.case_id.references",),
    } | ({("certificate.case_id.references",)} if licences_held else set())
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
    assert len(read_table_rows(settings, "silver", "material")) == materials_sent
    assert len(read_table_rows(settings, "silver", "case_event")) == events_sent
    assert len(read_table_rows(settings, "silver", "certificate")) == licences_sent
    cases = read_table_rows(settings, "silver", "case")
    assert len(cases) == len(lines)
    released_ids = {json.loads(lines[i])["caseNo"] for i in changed}
    assert {c["channel"] for c in cases if c["case_id"] in released_ids} == {"wechat"}
