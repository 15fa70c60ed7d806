"""The serving snapshots: Delta tables written with delta-rs, read whole, swapped for a new
version without a restart, each request's snapshot untouched by what comes after it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from api import snapshots
from api.access import catalogue_is_open, unconditional_fields_only
from api.catalogue import CatalogueStore
from api.profiles import UNSERVED, ProfileStore
from api.snapshots import MISSING, ArrowRows, PackedRows
from hub.settings import Settings
from hub.storage import delta_rs_location
from tests.catalogue_rows import CONSTRUCTION_PERMIT, FOOD_STALL, items, requirements, write_catalogue
from tests.profile_rows import BUILT_AT, ENTITY, PERSON, profile_row

pytestmark = pytest.mark.unit


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, api_refresh_seconds=0.0)


def test_a_catalogue_not_published_yet_is_served_empty(settings: Settings) -> None:
    snapshot = CatalogueStore(settings).snapshot()
    assert (snapshot.versions, snapshot.items) == ((MISSING, MISSING), {})


def test_each_item_carries_its_requirement_standard_mandatory_first(settings: Settings) -> None:
    write_catalogue(settings)
    snapshot = CatalogueStore(settings).snapshot()
    assert snapshot.versions == (0, 0)
    assert set(snapshot.items) == {i["item_code"] for i in items()}
    stall = snapshot.items[FOOD_STALL]
    assert [(r["material_type"], r["mandatory"]) for r in stall["requirements"]] == [
        ("application_form", True),
        ("health_certificate", True),
        ("id_card_copy", True),
        ("power_of_attorney", False),
    ]


def test_a_new_version_is_served_without_a_restart_and_a_taken_snapshot_keeps_its_own(
    settings: Settings,
) -> None:
    write_catalogue(settings)
    store = CatalogueStore(settings)
    before = store.snapshot()
    write_catalogue(
        settings,
        [i for i in items() if i["item_code"] != CONSTRUCTION_PERMIT],
        [r for r in requirements() if r["item_code"] != CONSTRUCTION_PERMIT],
    )
    after = store.snapshot()
    assert after.versions == (1, 1)
    assert CONSTRUCTION_PERMIT not in after.items
    # A request that took the snapshot before still reads the version it took.
    assert before.versions == (0, 0)
    assert CONSTRUCTION_PERMIT in before.items
    # No new version: the same snapshot, not loaded again.
    assert store.snapshot() is after


def test_versions_are_checked_at_most_every_refresh_seconds(settings: Settings) -> None:
    write_catalogue(settings)
    store = CatalogueStore(settings.model_copy(update={"api_refresh_seconds": 3600.0}))
    first = store.snapshot()
    write_catalogue(settings, [], [])
    assert store.snapshot() is first


def test_the_item_guide_serves_only_what_the_contracts_open_to_every_department() -> None:
    assert catalogue_is_open()
    unconditional_fields_only({"material_type": ("material.material_type",)})
    # One conditional source makes the value conditional.
    with pytest.raises(ValueError, match="material_key"):
        unconditional_fields_only({"material_key": ("material.material_type", "material.file_object_key")})


def test_profiles_are_packed_and_each_looked_up_row_is_the_row_gold_wrote(settings: Settings) -> None:
    location, _ = delta_rs_location(settings, "gold", "subject_profile")
    person, entity = profile_row(PERSON), profile_row(ENTITY) | {"subject_type": "entity"}
    # Two commits, two files: rows are found across the table's batches.
    write_deltalake(location, pa.Table.from_pylist([person]))
    write_deltalake(location, pa.Table.from_pylist([entity]), mode="append")
    snapshot = ProfileStore(settings).snapshot()
    assert snapshot.version == 1
    assert sorted(snapshot.profiles) == sorted([PERSON, ENTITY])
    assert len(snapshot.profiles) == 2
    assert snapshot.profiles[ENTITY]["subject_type"] == "entity"
    # What reading the table as dicts gives, but the lineage no route serves; the same instants.
    expected = pa.Table.from_pylist([person]).to_pylist()[0]
    for entry in [*expected["cases"], *expected["identity"]]:
        del entry["source"]
    served = snapshot.profiles[PERSON]
    assert served == expected
    assert served["cases"][0]["received_at"].utcoffset() == dt.timedelta(0)
    assert served["built_at"] == BUILT_AT
    assert snapshot.profiles.get("11010519491231003X") is None


def test_rows_held_as_arrow_or_packed_are_looked_up_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    # One row a slice: rows are found across the slices they were packed in.
    monkeypatch.setattr(snapshots, "PACK_SLICE_ROWS", 1)
    table = pa.Table.from_pylist([profile_row(PERSON), profile_row(ENTITY) | {"subject_type": "entity"}])
    as_arrow, packed = ArrowRows(table, "subject_id", UNSERVED), PackedRows(table, "subject_id", UNSERVED)
    assert list(packed) == list(as_arrow) == [PERSON, ENTITY]
    for subject_id in (PERSON, ENTITY):
        assert packed[subject_id] == as_arrow[subject_id]
    # Each look-up unpacks a row of its own: a route may change what it was given.
    packed[PERSON]["cases"].clear()
    assert packed[PERSON]["cases"] == as_arrow[PERSON]["cases"] != []
