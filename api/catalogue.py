"""The serving snapshot of the item catalogue: silver's `approval_item` with each item's
requirement standard from `item_requirement`, by item code. Both tables are small (one row per
item, one per item and material), so they are held whole."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from api.snapshots import Read, SnapshotStore, rows

# A level-3 item code: its level-1 list's letters, the level-2 group's four digits, the item's two
# (SCJG-0101-01). Anything else cannot name an item, and is told so rather than looked up.
ITEM_CODE_PATTERN = r"^[A-Z]{1,16}-[0-9]{4}-[0-9]{2}$"
ITEM_CODE = re.compile(ITEM_CODE_PATTERN)


def _requirement_order(requirement: dict[str, Any]) -> tuple[bool, str]:
    # Delta keeps no row order: the ones every application needs first, then by material.
    return (not requirement["mandatory"], requirement["material_type"])


@dataclass(frozen=True)
class CatalogueSnapshot:
    versions: tuple[int, int]  # approval_item's, item_requirement's
    # Each item's row, with its requirement rows under "requirements".
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def item(self, item_code: str) -> dict[str, Any] | None:
        return self.items.get(item_code)


class CatalogueStore(SnapshotStore[CatalogueSnapshot]):
    tables = (("silver", "approval_item"), ("silver", "item_requirement"))

    def build(self, versions: tuple[int, ...], tables: Sequence[Read]) -> CatalogueSnapshot:
        item_version, requirement_version = versions
        items, requirements = (rows(table) for table in tables)
        by_item: dict[str, list[dict[str, Any]]] = {}
        for requirement in requirements:
            by_item.setdefault(requirement["item_code"], []).append(requirement)
        return CatalogueSnapshot(
            (item_version, requirement_version),
            {
                item["item_code"]: item
                | {"requirements": sorted(by_item.get(item["item_code"], []), key=_requirement_order)}
                for item in items
            },
        )
