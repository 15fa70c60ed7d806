"""Hand-made gold profile rows, shaped as jobs/gold.py:subject_profile writes them, for the API's
tests: every served field set, so each is walked by the access tests whatever the subject's type.

The identity entries are made from the subject contract, one per attribute and reporting
department, so an attribute added to the contract is in the row (and in the access matrix) at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.grants import Grant
from quality.contracts import Field, identity_attributes

PERSON = "11010519491231002X"
ENTITY = "91350100M000100Y43"
OWNER = "food_drug"
OTHER = "market_regulation"
BUILT_AT = dt.datetime(2026, 11, 26, 1, tzinfo=dt.UTC)


def _source(line: int) -> dict[str, Any]:
    return {"batch_id": "food_drug-20261125", "file": "cases.jsonl", "line": line}


def sample_value(field: Field, department: str) -> str:
    """A value for an identity attribute, of the form its masking expects."""
    if field.physical_type in {"date", "timestamp"}:
        return "1949-12-31" if department == OWNER else "2030-06-30"
    if field.name.endswith(("phone", "mobile")):
        return "13800000001" if department == OWNER else "13900000002"
    if field.name.endswith("_id"):
        return PERSON
    return f"{field.name} as {department} reported it"


def identity_entries(departments: tuple[str, ...] = (OWNER, OTHER)) -> list[dict[str, Any]]:
    return [
        {
            "field": f.name,
            "value": sample_value(f, department),
            "sharing_class": f.sharing_class,
            "department": department,
            "updated_at": dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC),
            "source": _source(3),
        }
        for f in identity_attributes()
        for department in departments
    ]


def _case(case_id: str, department: str, status: str, received: dt.datetime) -> dict[str, Any]:
    return {
        "received_at": received,
        "case_id": case_id,
        "department": department,
        "item_code": "SYJ-0202-01",
        "item_name": "小餐饮登记",
        "channel": "window",
        "status": status,
        "decided_at": received + dt.timedelta(hours=4) if status == "completed" else None,
        "promised_deadline": dt.date(2026, 11, 6),
        "source": _source(7),
    }


def profile_row(subject_id: str = PERSON) -> dict[str, Any]:
    """A subject `OWNER` and `OTHER` both have records of; each owns its own."""
    return {
        "subject_id": subject_id,
        "subject_type": "person",
        "subject_name": "陈伟",
        "departments": [OWNER, OTHER],
        "case_count": 2,
        "open_case_count": 1,
        "cases": [
            _case("SC2", OTHER, "accepted", dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC)),
            _case("SY1", OWNER, "completed", dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)),
        ],
        "certificates": [
            {
                "issued_at": dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC),
                "certificate_id": "ZZSY1",
                "certificate_type": "food_business_licence",
                "issuing_department": OWNER,
                "valid_from": dt.date(2026, 11, 1),
                "valid_until": dt.date(2031, 10, 31),
                "status": "valid",
                "in_force": True,
                "case_id": "SY1",
            }
        ],
        "materials_on_file": [
            {
                "material_type": "health_certificate",
                "material_id": "SY1-03",
                "department": OWNER,
                "file_object_key": "materials/ab/abcd.pdf",
                "sha256": "ab" * 32,
                "accepted": True,
                "valid_until": dt.date(2027, 10, 31),
            },
            {
                "material_type": "id_card_copy",
                "material_id": "SC2-01",
                "department": OTHER,
                "file_object_key": "materials/cd/cdef.pdf",
                "sha256": "cd" * 32,
                "accepted": True,
                "valid_until": dt.date(2030, 6, 30),
            },
        ],
        "open_alerts": [
            {
                "rule": "yellow_card",
                "department": OTHER,
                "case_id": "SC2",
                "raised_at": dt.datetime(2026, 11, 4, 16, tzinfo=dt.UTC),
            }
        ],
        "identity": identity_entries(),
        "legal_representative_id": PERSON,
        "represented_entities": [ENTITY],
        "names_by_department": [
            {"department": OWNER, "name": "陈伟", "seen_at": dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)},
            {"department": OTHER, "name": "陈玮", "seen_at": dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC)},
        ],
        "conflicts": ["gender", "mobile_phone", "subject_name", "subject_type"],
        "risk_tier": "low",
        "last_activity_at": dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC),
        "last_updated_at": dt.datetime(2026, 11, 3, 1, tzinfo=dt.UTC),
        "valid_on": dt.date(2026, 11, 26),
        "built_at": BUILT_AT,
    }


def grant(
    department: str,
    purpose: str = "approval_handling",
    *,
    unmasked: bool,
    valid_until: dt.date | None = None,
    revoked_at: dt.datetime | None = None,
) -> Grant:
    """A grant to `department` for `purpose`, valid from the start of 2026."""
    return Grant(
        grant_id=f"{department}-{purpose}-0123456789abcdef",
        department=department,
        purpose=purpose,
        unmasked=unmasked,
        valid_from=dt.date(2026, 1, 1),
        valid_until=valid_until,
        approved_by="王主任",
        basis="agreement 7",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        revoked_at=revoked_at,
    )
