"""`GET /v1/items/{item_code}`: an approval item's guide (办事指南) for a window: where it sits in the
catalogue, its type, department, time limits, requirement standard, fee and tiers.

The catalogue is the same for every department and holds no data about any applicant, so any
valid token reads it, with no purpose stated and no audit record; the app checks at start that
every field served here is unconditional in the contracts (`api.access.catalogue_is_open`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from api.catalogue import ITEM_CODE_PATTERN
from api.deps import CallerDep, CatalogueStoreDep
from api.problems import problems
from api.schemas import CatalogueLevelPublic, ItemGuidePublic, ItemRequirementPublic

router = APIRouter(prefix="/v1/items", tags=["items"])

ItemCodePath = Annotated[
    str,
    Path(
        description="The item's code in the level-3 catalogue (事项编码), e.g. SCJG-0101-01.",
        pattern=ITEM_CODE_PATTERN,
        max_length=32,
        examples=["SYJ-0201-01"],
    ),
]


def item_guide(item: dict[str, Any]) -> ItemGuidePublic:
    """The guide of a catalogue snapshot's item row."""
    joint = item.get("joint_departments") or ""
    return ItemGuidePublic(
        item_code=item["item_code"],
        item_name=item["item_name"],
        level1=CatalogueLevelPublic(code=item["level1_code"], name=item["level1_name"]),
        level2=CatalogueLevelPublic(code=item["level2_code"], name=item["level2_name"]),
        item_type=item["item_type"],
        department=item["department"],
        statutory_days=item["statutory_days"],
        promised_days=item["promised_days"],
        requirements=[ItemRequirementPublic.model_validate(r) for r in item["requirements"]],
        fee_standard=item["fee_standard"],
        fee_free=item["fee_free"],
        handling_tier=item["handling_tier"],
        risk_tier=item["risk_tier"],
        joint_departments=[d.strip() for d in joint.split(",") if d.strip()],
    )


@router.get(
    "/{item_code}",
    summary="An approval item's guide: its standards, as the catalogue publishes them",
    description="The item's catalogue path (level 1 and 2), name, type, department, statutory and "
    "promised working days, requirement standard (each material with whether it is mandatory, "
    "whether a copy on file may be reused, and its validity rule), fee, handling and risk tier, "
    "and the departments that countersign a joint item. The same for every department; no "
    "purpose is needed and nothing about any applicant is served.",
    responses=problems(
        {
            401: "No token, or one that is not valid.",
            404: "No such item in the catalogue.",
            422: "A malformed item code.",
        }
    ),
)
def get_item(item_code: ItemCodePath, caller: CallerDep, catalogue: CatalogueStoreDep) -> ItemGuidePublic:
    item = catalogue.snapshot().item(item_code)
    if item is None:
        raise HTTPException(status_code=404, detail=f"no item {item_code} in the catalogue")
    return item_guide(item)
