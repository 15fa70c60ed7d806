"""The district's three-level catalogue of approval items (三级目录) that the simulator draws from.

Level 1 is the department's published list, level 2 a group of items, level 3 the item itself.
Each item carries the standards the reform fixed for it: type, statutory and promised working
days, risk and handling tier, the materials it requires and its fee.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    material_type: str
    mandatory: bool
    reusable: bool
    validity_rule: str


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    department: str
    level1: tuple[str, str]
    level2: tuple[str, str]
    subject_type: str  # person | entity: who applies
    item_type: str  # instant | committed | joint
    statutory_days: int
    promised_days: int  # working days; 0 for an instant item
    risk_tier: str
    handling_tier: str
    requirements: tuple[Requirement, ...]
    fee_standard: float = 0.0
    joint_departments: tuple[str, ...] = ()
    certificate_type: str | None = None
    weight: int = 1  # how often the item is applied for, relative to the department's others


ID_CARD = Requirement("id_card_copy", True, True, "until_id_expiry")
LEGAL_REP_ID = Requirement("legal_representative_id", True, True, "until_id_expiry")
LICENCE = Requirement("business_licence", True, True, "while_entity_active")
LEASE = Requirement("lease_contract", True, True, "until_lease_end")
FLOOR_PLAN = Requirement("floor_plan", True, True, "while_entity_active")
HEALTH_CERT = Requirement("health_certificate", True, True, "one_year")
FORM = Requirement("application_form", True, False, "single_use")
ARTICLES = Requirement("articles_of_association", True, True, "while_entity_active")
POWER_OF_ATTORNEY = Requirement("power_of_attorney", False, False, "single_use")

MARKET_L1 = ("SCJG-01", "市场主体登记")
FOOD_L1 = ("SYJ-02", "食品经营许可")
HOUSING_L1 = ("ZJ-03", "建设工程管理")
HR_L1 = ("RS-04", "就业和社会保险")
HEALTH_L1 = ("WJ-05", "卫生健康许可")

CATALOGUE: tuple[Item, ...] = (
    Item(
        "SCJG-0101-01",
        "有限责任公司设立登记",
        "market_regulation",
        MARKET_L1,
        ("SCJG-0101", "企业登记"),
        "entity",
        "committed",
        15,
        3,
        "general",
        "district",
        (FORM, LEGAL_REP_ID, LEASE, ARTICLES, POWER_OF_ATTORNEY),
        certificate_type="business_licence",
        weight=4,
    ),
    Item(
        "SCJG-0101-02",
        "企业变更登记",
        "market_regulation",
        MARKET_L1,
        ("SCJG-0101", "企业登记"),
        "entity",
        "committed",
        15,
        2,
        "low",
        "district",
        (FORM, LICENCE, LEGAL_REP_ID),
        certificate_type="business_licence",
        weight=2,
    ),
    Item(
        "SCJG-0102-01",
        "个体工商户设立登记",
        "market_regulation",
        MARKET_L1,
        ("SCJG-0102", "个体工商户登记"),
        "person",
        "instant",
        15,
        0,
        "low",
        "street",
        (FORM, ID_CARD, LEASE),
        certificate_type="business_licence",
        weight=3,
    ),
    Item(
        "SYJ-0201-01",
        "食品经营许可证核发（小餐饮，低风险）",
        "food_drug",
        FOOD_L1,
        ("SYJ-0201", "食品经营许可"),
        "entity",
        "committed",
        20,
        5,
        "low",
        "street",
        (FORM, LICENCE, FLOOR_PLAN, HEALTH_CERT, LEASE),
        certificate_type="food_business_licence",
        weight=4,
    ),
    Item(
        "SYJ-0201-02",
        "食品经营许可证核发（一般风险）",
        "food_drug",
        FOOD_L1,
        ("SYJ-0201", "食品经营许可"),
        "entity",
        "committed",
        20,
        10,
        "general",
        "district",
        (
            FORM,
            LICENCE,
            FLOOR_PLAN,
            HEALTH_CERT,
            LEASE,
            Requirement("food_safety_rules", True, False, "single_use"),
        ),
        certificate_type="food_business_licence",
        weight=2,
    ),
    Item(
        "SYJ-0202-01",
        "食品摊贩登记",
        "food_drug",
        FOOD_L1,
        ("SYJ-0202", "小摊贩登记"),
        "person",
        "committed",
        10,
        3,
        "low",
        "community",
        (FORM, ID_CARD, HEALTH_CERT),
        weight=1,
    ),
    Item(
        "ZJ-0301-01",
        "建筑工程施工许可证核发",
        "housing_construction",
        HOUSING_L1,
        ("ZJ-0301", "施工许可"),
        "entity",
        "joint",
        15,
        7,
        "high",
        "district",
        (
            FORM,
            LICENCE,
            Requirement("construction_drawings", True, False, "single_use"),
            Requirement("fire_safety_acceptance", True, False, "single_use"),
            Requirement("environmental_assessment", True, False, "single_use"),
        ),
        fee_standard=0.0,
        joint_departments=("fire_protection", "environmental_protection"),
        certificate_type="construction_permit",
        weight=1,
    ),
    Item(
        "ZJ-0302-01",
        "房屋租赁登记备案",
        "housing_construction",
        HOUSING_L1,
        ("ZJ-0302", "房屋租赁"),
        "person",
        "instant",
        5,
        0,
        "low",
        "community",
        (FORM, ID_CARD, LEASE, Requirement("property_certificate", True, True, "while_entity_active")),
        weight=3,
    ),
    Item(
        "RS-0401-01",
        "就业登记",
        "human_resources",
        HR_L1,
        ("RS-0401", "就业服务"),
        "person",
        "instant",
        5,
        0,
        "low",
        "community",
        (ID_CARD, Requirement("labour_contract", True, True, "until_lease_end")),
        weight=4,
    ),
    Item(
        "RS-0402-01",
        "社会保险参保登记（单位）",
        "human_resources",
        HR_L1,
        ("RS-0402", "社会保险"),
        "entity",
        "committed",
        15,
        5,
        "low",
        "street",
        (FORM, LICENCE, LEGAL_REP_ID),
        certificate_type="social_insurance_registration",
        weight=2,
    ),
    Item(
        "WJ-0501-01",
        "公共场所卫生许可证核发",
        "health",
        HEALTH_L1,
        ("WJ-0501", "公共场所卫生"),
        "entity",
        "committed",
        20,
        10,
        "general",
        "district",
        (FORM, LICENCE, FLOOR_PLAN, LEASE),
        fee_standard=0.0,
        certificate_type="public_place_hygiene_licence",
        weight=2,
    ),
    Item(
        "WJ-0502-01",
        "从业人员健康证明办理",
        "health",
        HEALTH_L1,
        ("WJ-0502", "从业人员健康管理"),
        "person",
        "committed",
        7,
        3,
        "low",
        "community",
        (ID_CARD, FORM),
        fee_standard=40.0,
        certificate_type="health_certificate",
        weight=5,
    ),
)

ITEMS_BY_CODE = {item.code: item for item in CATALOGUE}


def items_of(department: str) -> tuple[Item, ...]:
    return tuple(item for item in CATALOGUE if item.department == department)
