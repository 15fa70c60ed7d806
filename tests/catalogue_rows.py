"""A hand-made item catalogue, written as the Delta tables `jobs/pipeline.py:publish_catalogue`
makes of it (`silver/approval_item`, `silver/item_requirement`, in their contracts' fields and
Spark's types), with delta-rs: the API's tests need no Spark."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
from deltalake import write_deltalake

from hub.settings import Settings
from hub.storage import delta_rs_location

PUBLISHED_AT = dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)

APPROVAL_ITEM_SCHEMA = pa.schema(
    [
        ("item_code", pa.string()),
        ("level1_code", pa.string()),
        ("level1_name", pa.string()),
        ("level2_code", pa.string()),
        ("level2_name", pa.string()),
        ("item_name", pa.string()),
        ("department", pa.string()),
        ("item_type", pa.string()),
        ("statutory_days", pa.int32()),
        ("promised_days", pa.int32()),
        ("risk_tier", pa.string()),
        ("handling_tier", pa.string()),
        ("joint_departments", pa.string()),
        ("fee_standard", pa.decimal128(12, 2)),
        ("fee_free", pa.bool_()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)
ITEM_REQUIREMENT_SCHEMA = pa.schema(
    [
        ("item_code", pa.string()),
        ("material_type", pa.string()),
        ("mandatory", pa.bool_()),
        ("reusable", pa.bool_()),
        ("validity_rule", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)

# A street-level small-restaurant licence, a community-level stall registration and a joint,
# fee-charging construction permit; the profile rows' cases are of the stall registration.
SMALL_RESTAURANT = "SYJ-0201-01"
FOOD_STALL = "SYJ-0202-01"
CONSTRUCTION_PERMIT = "ZJ-0301-01"
FOOD_L1 = ("SYJ-02", "食品经营许可")


def _item(
    code: str, name: str, department: str, level1: tuple[str, str], level2: tuple[str, str], **kw: Any
) -> dict[str, Any]:
    return {
        "item_code": code,
        "level1_code": level1[0],
        "level1_name": level1[1],
        "level2_code": level2[0],
        "level2_name": level2[1],
        "item_name": name,
        "department": department,
        "joint_departments": None,
        "fee_standard": Decimal("0.00"),
        "fee_free": True,
        "updated_at": PUBLISHED_AT,
        **kw,
    }


def items() -> list[dict[str, Any]]:
    return [
        _item(
            SMALL_RESTAURANT,
            "食品经营许可证核发（小餐饮，低风险）",
            "food_drug",
            FOOD_L1,
            ("SYJ-0201", "食品经营许可"),
            item_type="committed",
            statutory_days=20,
            promised_days=5,
            risk_tier="low",
            handling_tier="street",
        ),
        _item(
            FOOD_STALL,
            "食品摊贩登记",
            "food_drug",
            FOOD_L1,
            ("SYJ-0202", "小摊贩登记"),
            item_type="committed",
            statutory_days=10,
            promised_days=3,
            risk_tier="low",
            handling_tier="community",
        ),
        _item(
            CONSTRUCTION_PERMIT,
            "建筑工程施工许可证核发",
            "housing_construction",
            ("ZJ-03", "建设工程管理"),
            ("ZJ-0301", "施工许可"),
            item_type="joint",
            statutory_days=15,
            promised_days=7,
            risk_tier="high",
            handling_tier="district",
            joint_departments="fire_protection,environmental_protection",
            fee_standard=Decimal("120.50"),
            fee_free=False,
        ),
    ]


def _requirement(
    item_code: str, material_type: str, mandatory: bool, reusable: bool, rule: str
) -> dict[str, Any]:
    return {
        "item_code": item_code,
        "material_type": material_type,
        "mandatory": mandatory,
        "reusable": reusable,
        "validity_rule": rule,
        "updated_at": PUBLISHED_AT,
    }


def requirements() -> list[dict[str, Any]]:
    form = ("application_form", True, False, "single_use")
    return [
        _requirement(SMALL_RESTAURANT, *form),
        _requirement(SMALL_RESTAURANT, "business_licence", True, True, "while_entity_active"),
        _requirement(SMALL_RESTAURANT, "floor_plan", True, True, "while_entity_active"),
        _requirement(SMALL_RESTAURANT, "health_certificate", True, True, "one_year"),
        _requirement(SMALL_RESTAURANT, "lease_contract", True, True, "until_lease_end"),
        _requirement(FOOD_STALL, *form),
        _requirement(FOOD_STALL, "id_card_copy", True, True, "until_id_expiry"),
        _requirement(FOOD_STALL, "health_certificate", True, True, "one_year"),
        _requirement(FOOD_STALL, "power_of_attorney", False, False, "single_use"),
        _requirement(CONSTRUCTION_PERMIT, *form),
        _requirement(CONSTRUCTION_PERMIT, "business_licence", True, True, "while_entity_active"),
        _requirement(CONSTRUCTION_PERMIT, "construction_drawings", True, False, "single_use"),
    ]


def write_catalogue(
    settings: Settings,
    item_rows: list[dict[str, Any]] | None = None,
    requirement_rows: list[dict[str, Any]] | None = None,
) -> None:
    """Publish the catalogue (a new version of each table when it is already there)."""
    for table, schema, rows in (
        ("approval_item", APPROVAL_ITEM_SCHEMA, items() if item_rows is None else item_rows),
        (
            "item_requirement",
            ITEM_REQUIREMENT_SCHEMA,
            requirements() if requirement_rows is None else requirement_rows,
        ),
    ):
        location, options = delta_rs_location(settings, "silver", table)
        write_deltalake(
            location, pa.Table.from_pylist(rows, schema=schema), mode="overwrite", storage_options=options
        )
