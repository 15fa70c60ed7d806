"""The material registry and the subject profile on hand-made silver rows, expected rows by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from hub.settings import DISTRICT_TIMEZONE
from jobs.gold import material_registry, subject_profile

pytestmark = pytest.mark.spark

LINEAGE = "_batch_id string, _source_file string, _source_line int"
MATERIALS = (
    "material_id string, department string, case_id string, subject_id string, material_type string, "
    "file_object_key string, sha256 string, issued_by_department string, accepted boolean, "
    f"submitted_at timestamp, valid_until date, {LINEAGE}"
)
CASES = (
    "case_id string, department string, subject_id string, subject_type string, subject_name string, "
    "item_code string, item_name string, channel string, status string, received_at timestamp, "
    f"decided_at timestamp, promised_deadline date, updated_at timestamp, {LINEAGE}"
)
CERTIFICATES = (
    "certificate_id string, certificate_type string, subject_id string, case_id string, "
    "issuing_department string, issued_at timestamp, valid_from date, valid_until date, status string"
)
ALERTS = (
    "rule string, department string, case_id string, subject_id string, "
    "raised_at timestamp, cleared_at timestamp"
)
SUBJECTS = (
    "subject_id string, subject_type string, name string, gender string, mobile_phone string, "
    "entity_type string, legal_representative_id string, registered_capital decimal(12,2), "
    f"department string, updated_at timestamp, {LINEAGE}"
)
AS_OF = dt.datetime(2026, 11, 25, 12, 0, tzinfo=DISTRICT_TIMEZONE)


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=DISTRICT_TIMEZONE)


def _d(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _material(
    material_id: str,
    material_type: str,
    sha: str,
    *,
    accepted: bool,
    submitted: str,
    valid_until: str | None,
    subject: str = "S1",
) -> tuple[object, ...]:
    return (
        material_id,
        "food_drug",
        f"C-{material_id}",
        subject,
        material_type,
        f"materials/{material_id}.pdf",
        sha,
        "food_drug",
        accepted,
        _t(submitted),
        _d(valid_until),
        "b1",
        "f.jsonl",
        1,
    )


@pytest.fixture(scope="module")
def registry(spark: SparkSession):
    materials = [
        # The same ID card copy handed in twice: the newer submission is on file, counted twice.
        _material(
            "m1", "id_card_copy", "a", accepted=True, submitted="2026-03-01 10:00", valid_until="2030-01-01"
        ),
        _material(
            "m2", "id_card_copy", "a", accepted=True, submitted="2026-06-01 10:00", valid_until="2030-01-01"
        ),
        # A lease that ended is not reusable; the newer one was turned down but is all there is.
        _material(
            "m3", "lease_contract", "b", accepted=True, submitted="2025-06-01 10:00", valid_until="2026-05-31"
        ),
        _material(
            "m4",
            "lease_contract",
            "c",
            accepted=False,
            submitted="2026-09-01 10:00",
            valid_until="2027-08-31",
        ),
        # A business licence is valid while the entity exists (no end date).
        _material(
            "m5", "business_licence", "d", accepted=True, submitted="2024-01-01 10:00", valid_until=None
        ),
        # An accepted health certificate comes before a newer one that was turned down.
        _material(
            "m6",
            "health_certificate",
            "e",
            accepted=True,
            submitted="2026-10-01 10:00",
            valid_until="2027-09-30",
        ),
        _material(
            "m7",
            "health_certificate",
            "f",
            accepted=False,
            submitted="2026-11-01 10:00",
            valid_until="2027-10-31",
        ),
        # Valid through the day of the build, so still on file.
        _material(
            "m8",
            "id_card_copy",
            "g",
            accepted=True,
            submitted="2016-11-25 10:00",
            valid_until="2026-11-25",
            subject="S2",
        ),
    ]
    return material_registry(spark.createDataFrame(materials, MATERIALS), F.lit(AS_OF))


def test_the_registry_keeps_the_reusable_material_of_each_type(registry) -> None:
    rows = sorted(
        (r.subject_id, r.material_type, r.material_id, r.accepted, r.submissions) for r in registry.collect()
    )
    assert rows == [
        ("S1", "business_licence", "m5", True, 1),
        ("S1", "health_certificate", "m6", True, 1),
        ("S1", "id_card_copy", "m2", True, 2),
        ("S1", "lease_contract", "m4", False, 1),
        ("S2", "id_card_copy", "m8", True, 1),
    ]
    (m2,) = registry.where("material_id = 'm2'").collect()
    assert (m2.file_object_key, m2.sha256, m2.source.batch_id) == ("materials/m2.pdf", "a", "b1")


def test_the_profile_joins_cases_certificates_materials_and_alerts(spark: SparkSession, registry) -> None:
    cases = spark.createDataFrame(
        [
            (
                "C1",
                "market_regulation",
                "S1",
                "entity",
                "老字号餐饮有限公司",
                "MR1",
                "设立登记",
                "window",
                "completed",
                _t("2026-03-01 09:00"),
                _t("2026-03-02 09:00"),
                _d("2026-03-03"),
                _t("2026-03-02 09:00"),
                "b0",
                "mr.csv",
                2,
            ),
            (
                "C2",
                "food_drug",
                "S1",
                "entity",
                "老字号餐饮公司",
                "FD1",
                "食品经营许可",
                "online",
                "accepted",
                _t("2026-11-20 09:00"),
                None,
                _d("2026-12-04"),
                _t("2026-11-20 09:00"),
                "b1",
                "fd.jsonl",
                7,
            ),
            (
                "C3",
                "health",
                "S2",
                "person",
                "张三",
                "H1",
                "健康证明",
                "kiosk",
                "completed",
                _t("2026-10-01 09:00"),
                _t("2026-10-01 10:00"),
                _d("2026-10-01"),
                _t("2026-10-01 10:00"),
                "b2",
                "h.json",
                1,
            ),
        ],
        CASES,
    )
    certificates = spark.createDataFrame(
        [
            (
                "Z1",
                "business_licence",
                "S1",
                "C1",
                "market_regulation",
                _t("2026-03-02 09:00"),
                _d("2026-03-02"),
                None,
                "valid",
            ),
            (
                "Z0",
                "food_business_licence",
                "S1",
                "C0",
                "food_drug",
                _t("2021-01-05 09:00"),
                _d("2021-01-05"),
                _d("2026-01-04"),
                "valid",
            ),
        ],
        CERTIFICATES,
    )
    alerts = spark.createDataFrame(
        [
            ("yellow_card", "food_drug", "C2", "S1", _t("2026-12-02 00:00"), None),
            ("red_card", "market_regulation", "C1", "S1", _t("2026-03-04 00:00"), _t("2026-03-05 00:00")),
        ],
        ALERTS,
    )
    items = spark.createDataFrame(
        [("MR1", "low"), ("FD1", "general"), ("H1", "low")], "item_code string, risk_tier string"
    )
    subjects = spark.createDataFrame(
        [
            # Both departments name S2 as S1's representative but hold different phone numbers.
            (
                "S1",
                "entity",
                "老字号餐饮有限公司",
                None,
                "13800000001",
                "limited_company",
                "S2",
                Decimal("100.00"),
                "market_regulation",
                _t("2026-03-02 09:00"),
                "b0",
                "mr.csv",
                2,
            ),
            (
                "S1",
                "entity",
                "老字号餐饮公司",
                None,
                "13900000002",
                None,
                "S2",
                None,
                "food_drug",
                _t("2026-11-20 09:00"),
                "b1",
                "fd.jsonl",
                7,
            ),
            (
                "S2",
                "person",
                "张三",
                "male",
                "13700000003",
                None,
                None,
                None,
                "health",
                _t("2026-10-01 10:00"),
                "b2",
                "h.json",
                1,
            ),
            # S2 also runs a firm whose only case is held in quarantine: known from its details alone.
            (
                "E9",
                "entity",
                "三号商行",
                None,
                None,
                "individual_business",
                "S2",
                None,
                "market_regulation",
                _t("2025-01-01 09:00"),
                "b0",
                "mr.csv",
                9,
            ),
        ],
        SUBJECTS,
    )
    sharing_classes = {
        "gender": "conditional",
        "mobile_phone": "not_shared",
        "entity_type": "unconditional",
        "legal_representative_id": "conditional",
        "registered_capital": "unconditional",
    }
    profiles = {
        r.subject_id: r
        for r in subject_profile(
            cases,
            subjects=subjects,
            sharing_classes=sharing_classes,
            certificates=certificates,
            registry=registry,
            alerts=alerts,
            items=items,
            as_of=F.lit(AS_OF),
        ).collect()
    }
    s1, s2 = profiles["S1"], profiles["S2"]
    assert (s1.subject_name, s1.departments, s1.case_count, s1.open_case_count, s1.risk_tier) == (
        "老字号餐饮公司",
        ["food_drug", "market_regulation"],
        2,
        1,
        "general",
    )
    assert [c.case_id for c in s1.cases] == ["C2", "C1"]
    assert (s1.cases[0].source.batch_id, s1.cases[0].source.line) == ("b1", 7)
    # The expired food licence is listed, not in force; the business licence is.
    assert [(c.certificate_id, c.in_force) for c in s1.certificates] == [("Z1", True), ("Z0", False)]
    assert [m.material_type for m in s1.materials_on_file] == [
        "business_licence",
        "health_certificate",
        "id_card_copy",
        "lease_contract",
    ]
    assert [(a.rule, a.case_id) for a in s1.open_alerts] == [("yellow_card", "C2")]
    # The two departments spell the company's name differently: both kept, the conflict flagged.
    assert [(n.department, n.name) for n in s1.names_by_department] == [
        ("food_drug", "老字号餐饮公司"),
        ("market_regulation", "老字号餐饮有限公司"),
    ]
    assert (s1.conflicts, s2.conflicts) == (["mobile_phone", "subject_name"], [])
    # Every department's value of each attribute, with its sharing class, department and lineage.
    assert [(e.field, e.value, e.sharing_class, e.department) for e in s1.identity] == [
        ("entity_type", "limited_company", "unconditional", "market_regulation"),
        ("legal_representative_id", "S2", "conditional", "food_drug"),
        ("legal_representative_id", "S2", "conditional", "market_regulation"),
        ("mobile_phone", "13800000001", "not_shared", "market_regulation"),
        ("mobile_phone", "13900000002", "not_shared", "food_drug"),
        ("registered_capital", "100.00", "unconditional", "market_regulation"),
    ]
    assert (s1.identity[0].source.file, s1.identity[0].source.line) == ("mr.csv", 2)
    assert [(e.field, e.value) for e in s2.identity] == [("gender", "male"), ("mobile_phone", "13700000003")]
    # The legal-representative link, both ways.
    assert (s1.legal_representative_id, s1.represented_entities) == ("S2", [])
    assert (s2.legal_representative_id, s2.represented_entities) == (None, ["E9", "S1"])
    e9 = profiles["E9"]
    assert (e9.subject_type, e9.subject_name, e9.departments, e9.case_count, e9.cases) == (
        "entity",
        "三号商行",
        ["market_regulation"],
        0,
        [],
    )
    assert (e9.legal_representative_id, e9.conflicts, e9.names_by_department) == ("S2", [], [])
    assert (s2.certificates, s2.open_alerts, s2.risk_tier) == ([], [], "low")
    assert [m.material_id for m in s2.materials_on_file] == ["m8"]
