"""The profile route's body, written without validating the model, is the model's own JSON."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel

from api.access import Access, visible_profile
from api.model_json import field_shapes, served_json
from api.schemas import SubjectProfilePublic
from tests.profile_rows import ENTITY, OTHER, OWNER, grant, profile_row

pytestmark = pytest.mark.unit

PURPOSE = "approval_handling"


# Each sees another part of the row: all of its own, the rest masked or withheld, or all of it.
CALLERS = {
    "owner": Access(OWNER, PURPOSE),
    "other, no grant": Access(OTHER, PURPOSE),
    "other, masked grant": Access(OTHER, PURPOSE, (grant(OTHER, PURPOSE, unmasked=False),)),
    "other, unmasked grant": Access(OTHER, PURPOSE, (grant(OTHER, PURPOSE, unmasked=True),)),
}


def _with_microseconds(row: dict[str, Any]) -> dict[str, Any]:
    row["last_activity_at"] = dt.datetime(2026, 11, 3, 1, 2, 3, 456789, tzinfo=dt.UTC)
    row["cases"][0]["received_at"] = dt.datetime(2026, 11, 3, 23, 59, 59, 1, tzinfo=dt.UTC)
    row["built_at"] = dt.datetime(2026, 11, 26, 1, 0, 0, 500000, tzinfo=dt.UTC)
    return row


def _sparse(row: dict[str, Any]) -> dict[str, Any]:
    """Nulls and empty lists wherever gold may leave them."""
    for name in ("subject_name", "risk_tier", "last_activity_at", "legal_representative_id", "valid_on"):
        row[name] = None
    row["represented_entities"] = None
    row["cases"][0]["decided_at"] = None
    row["cases"][0]["promised_deadline"] = None
    row["certificates"][0]["valid_until"] = None
    row["names_by_department"][1]["name"] = None
    row["open_alerts"] = []
    row["conflicts"] = []
    return row


def _naive(row: dict[str, Any]) -> dict[str, Any]:
    """A naive datetime is taken as the district's time, as `LocalDatetime` takes it."""
    row["last_updated_at"] = dt.datetime(2026, 11, 3, 9)
    return row


ROWS = {
    "person": profile_row(),
    "entity": profile_row(ENTITY) | {"subject_type": "entity"},
    "microseconds": _with_microseconds(profile_row()),
    "sparse": _sparse(profile_row()),
    "naive datetime": _naive(profile_row()),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS)
def test_the_body_is_what_the_validated_model_dumps(row: str, caller: str) -> None:
    before = copy.deepcopy(ROWS[row])
    visible = visible_profile(ROWS[row], CALLERS[caller], gold_version=7)
    visible.pop("returned")
    expected = SubjectProfilePublic.model_validate(visible).model_dump_json().encode()
    assert served_json(visible) == expected
    # The row, which the snapshot holds for every request, is left as it was.
    assert ROWS[row] == before


def test_the_profile_holds_the_models_fields_in_order_and_its_times_in_district_time() -> None:
    visible = visible_profile(ROWS["microseconds"], CALLERS["owner"], gold_version=7)
    assert list(visible) == [*SubjectProfilePublic.model_fields, "returned"]
    assert visible["cases"][0]["received_at"].utcoffset() == dt.timedelta(hours=8)
    assert visible["built_at"].isoformat() == "2026-11-26T09:00:00.500000+08:00"


def test_the_callers_see_masked_and_withheld_values() -> None:
    # The cases above cover what they claim to: something masked, something withheld.
    no_grant = visible_profile(ROWS["person"], CALLERS["other, no grant"])
    masked_grant = visible_profile(ROWS["person"], CALLERS["other, masked grant"])
    assert no_grant["withheld"]
    assert masked_grant["masked"]
    assert "*" in masked_grant["subject_name"]


def test_a_datetime_that_is_not_in_district_time_is_refused() -> None:
    class Stamped(BaseModel):
        at: dt.datetime

    with pytest.raises(TypeError, match="LocalDatetime"):
        field_shapes(Stamped)
