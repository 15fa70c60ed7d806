"""The serving benchmark's gold: a `gold/subject_profile` table of N subjects written directly with
pyarrow and delta-rs, in the schema `jobs/gold.py:subject_profile` writes.

Building gold for a million subjects through the pipeline takes about half an hour on two cores,
and the serving benchmark measures the API, not the build; so the rows are drawn here the way the
simulator draws them (its subject pool, catalogue, materials and certificate rules), with sizes
like a simulated district's: most subjects have one or two cases, a few come back many times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from hub.simulator.catalogue import CATALOGUE, Item
from hub.simulator.world import CHANNELS, Subject, SubjectPool
from quality.contracts import identity_attributes

BUILT_AT = dt.datetime(2026, 11, 26, 1, tzinfo=dt.UTC)
VALID_ON = dt.date(2026, 11, 26)
FIRST_DAY = dt.datetime(2024, 1, 2, 1, tzinfo=dt.UTC)
HISTORY_DAYS = 1000
# Rows per Arrow batch written: bounds the generator's memory whatever N is.
BATCH_ROWS = 20_000
CASE_STATUSES = ("completed", "accepted", "not_accepted", "not_permitted")
CASE_STATUS_WEIGHTS = (70, 20, 6, 4)
ALERT_RULES = ("yellow_card", "red_card", "missing_materials")

TIMESTAMP = pa.timestamp("us", tz="UTC")
SOURCE = pa.struct([("batch_id", pa.string()), ("file", pa.string()), ("line", pa.int64())])
PROFILE_SCHEMA = pa.schema(
    [
        ("subject_id", pa.string()),
        ("subject_type", pa.string()),
        ("subject_name", pa.string()),
        ("departments", pa.list_(pa.string())),
        ("case_count", pa.int64()),
        ("open_case_count", pa.int64()),
        (
            "cases",
            pa.list_(
                pa.struct(
                    [
                        ("received_at", TIMESTAMP),
                        ("case_id", pa.string()),
                        ("department", pa.string()),
                        ("item_code", pa.string()),
                        ("item_name", pa.string()),
                        ("channel", pa.string()),
                        ("status", pa.string()),
                        ("decided_at", TIMESTAMP),
                        ("promised_deadline", pa.date32()),
                        ("source", SOURCE),
                    ]
                )
            ),
        ),
        (
            "certificates",
            pa.list_(
                pa.struct(
                    [
                        ("issued_at", TIMESTAMP),
                        ("certificate_id", pa.string()),
                        ("certificate_type", pa.string()),
                        ("issuing_department", pa.string()),
                        ("valid_from", pa.date32()),
                        ("valid_until", pa.date32()),
                        ("status", pa.string()),
                        ("in_force", pa.bool_()),
                        ("case_id", pa.string()),
                    ]
                )
            ),
        ),
        (
            "materials_on_file",
            pa.list_(
                pa.struct(
                    [
                        ("material_type", pa.string()),
                        ("material_id", pa.string()),
                        ("department", pa.string()),
                        ("file_object_key", pa.string()),
                        ("sha256", pa.string()),
                        ("accepted", pa.bool_()),
                        ("valid_until", pa.date32()),
                    ]
                )
            ),
        ),
        (
            "open_alerts",
            pa.list_(
                pa.struct(
                    [
                        ("rule", pa.string()),
                        ("department", pa.string()),
                        ("case_id", pa.string()),
                        ("raised_at", TIMESTAMP),
                    ]
                )
            ),
        ),
        (
            "identity",
            pa.list_(
                pa.struct(
                    [
                        ("field", pa.string()),
                        ("value", pa.string()),
                        ("sharing_class", pa.string()),
                        ("department", pa.string()),
                        ("updated_at", TIMESTAMP),
                        ("source", SOURCE),
                    ]
                )
            ),
        ),
        ("legal_representative_id", pa.string()),
        ("represented_entities", pa.list_(pa.string())),
        (
            "names_by_department",
            pa.list_(pa.struct([("department", pa.string()), ("name", pa.string()), ("seen_at", TIMESTAMP)])),
        ),
        ("conflicts", pa.list_(pa.string())),
        ("risk_tier", pa.string()),
        ("last_activity_at", TIMESTAMP),
        ("last_updated_at", TIMESTAMP),
        ("valid_on", pa.date32()),
        ("built_at", TIMESTAMP),
    ]
)
RISK_RANK = {"low": 0, "general": 1, "high": 2}


def case_count(rng: random.Random) -> int:
    """Most subjects come once or twice, a few many times (the simulator's pick: 30% frequent)."""
    if rng.random() < 0.3:
        return min(int(rng.paretovariate(1.2)) + 1, 60)
    return rng.choices((1, 2, 3), weights=(70, 22, 8))[0]


def _source(batch: str, line: int) -> dict[str, Any]:
    return {"batch_id": batch, "file": "cases.jsonl", "line": line}


def _identity_values(subject: Subject) -> dict[str, str | None]:
    """The subject's attributes as gold's identity entries hold them (cast to text)."""
    return {
        "gender": None
        if subject.subject_type == "entity"
        else "male"
        if subject.phone[-1] < "5"
        else "female",
        "birth_date": None
        if subject.subject_type == "entity"
        else f"{subject.subject_id[6:10]}-{subject.subject_id[10:12]}-{subject.subject_id[12:14]}",
        "id_expiry_date": subject.id_expiry.isoformat() if subject.id_expiry else None,
        "mobile_phone": subject.phone,
        "address": subject.address,
        "entity_type": subject.entity_type,
        "legal_representative_id": subject.legal_representative_id,
        "registered_capital": f"{subject.registered_capital:.2f}" if subject.registered_capital else None,
        "established_date": subject.established.isoformat() if subject.established else None,
        "status": "active" if subject.subject_type == "entity" else None,
    }


def _identity(
    subject: Subject, departments: list[str], updated_at: dt.datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each department's report of each identity attribute, and the attributes they disagree on."""
    values = _identity_values(subject)
    identity = []
    conflicts = []
    for attribute in identity_attributes():
        value = values.get(attribute.name)
        if value is None:
            continue
        for department in departments:
            reported = value
            # A department still holding the number the applicant gave years ago.
            if attribute.name == "mobile_phone" and subject.stale_phone and department == departments[0]:
                reported = subject.stale_phone
            identity.append(
                {
                    "field": attribute.name,
                    "value": reported,
                    "sharing_class": attribute.sharing_class,
                    "department": department,
                    "updated_at": updated_at,
                    "source": _source(f"{department}-subjects", rng.randint(1, 2000)),
                }
            )
        if attribute.name == "mobile_phone" and subject.stale_phone and len(departments) > 1:
            conflicts.append("mobile_phone")
    return sorted(identity, key=lambda e: (e["field"], e["department"])), conflicts


def profile_row(
    subject: Subject, index: int, items: dict[str, list[Item]], rng: random.Random
) -> dict[str, Any]:
    """One subject's gold row, its cases, certificates, materials and alerts drawn like the
    simulator's (items of the subject's type, the item's requirements, a certificate for a
    completed case of an item that issues one)."""
    cases: list[dict[str, Any]] = []
    certificates: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    materials: dict[str, dict[str, Any]] = {}
    names: dict[str, dict[str, Any]] = {}
    departments: set[str] = set()
    risk = "low"
    for n in range(case_count(rng)):
        item = rng.choice(items[subject.subject_type])
        received = FIRST_DAY + dt.timedelta(days=rng.randrange(HISTORY_DAYS), seconds=rng.randrange(28_800))
        status = rng.choices(CASE_STATUSES, weights=CASE_STATUS_WEIGHTS)[0]
        decided = (
            received + dt.timedelta(days=rng.randint(0, item.promised_days or 1))
            if status != "accepted"
            else None
        )
        case_id = f"{item.department[:2].upper()}{index:08d}{n:02d}"
        batch = f"{item.department}-{received:%Y%m%d}"
        departments.add(item.department)
        if RISK_RANK[item.risk_tier] > RISK_RANK[risk]:
            risk = item.risk_tier
        cases.append(
            {
                "received_at": received,
                "case_id": case_id,
                "department": item.department,
                "item_code": item.code,
                "item_name": item.name,
                "channel": rng.choice(CHANNELS),
                "status": status,
                "decided_at": decided,
                "promised_deadline": (received + dt.timedelta(days=item.promised_days * 7 // 5)).date(),
                "source": _source(batch, rng.randint(1, 2000)),
            }
        )
        names[item.department] = {"department": item.department, "name": subject.name, "seen_at": received}
        for m, requirement in enumerate(item.requirements, start=1):
            if not requirement.mandatory and rng.random() >= 0.4:
                continue
            if requirement.reusable:
                digest = hashlib.sha256(
                    f"{subject.subject_id}/{requirement.material_type}".encode()
                ).hexdigest()
                key = f"materials/{digest[:2]}/{digest}.pdf"
            else:
                key = f"materials/{item.department}/{case_id}/{requirement.material_type}.pdf"
                digest = hashlib.sha256(key.encode()).hexdigest()
            materials[requirement.material_type] = {
                "material_type": requirement.material_type,
                "material_id": f"{case_id}-{m:02d}",
                "department": item.department,
                "file_object_key": key,
                "sha256": digest,
                "accepted": rng.random() > 0.03,
                "valid_until": (received + dt.timedelta(days=365 * rng.choice((1, 3, 5)))).date()
                if requirement.validity_rule not in ("single_use", "while_entity_active")
                else None,
            }
        if status == "completed" and item.certificate_type and decided is not None:
            valid_until = (decided + dt.timedelta(days=365 * 5)).date()
            certificates.append(
                {
                    "issued_at": decided,
                    "certificate_id": f"ZZ{case_id}",
                    "certificate_type": item.certificate_type,
                    "issuing_department": item.department,
                    "valid_from": decided.date(),
                    "valid_until": valid_until,
                    "status": "valid",
                    "in_force": valid_until >= VALID_ON,
                    "case_id": case_id,
                }
            )
        if status == "accepted" and rng.random() < 0.1:
            alerts.append(
                {
                    "rule": rng.choice(ALERT_RULES),
                    "department": item.department,
                    "case_id": case_id,
                    "raised_at": received + dt.timedelta(days=item.promised_days or 1),
                }
            )
    cases.sort(key=lambda c: c["received_at"], reverse=True)
    identity, conflicts = _identity(subject, sorted(departments), cases[0]["received_at"], rng)
    last = max(max(c["received_at"], c["decided_at"] or c["received_at"]) for c in cases)
    return {
        "subject_id": subject.subject_id,
        "subject_type": subject.subject_type,
        "subject_name": subject.name,
        "departments": sorted(departments),
        "case_count": len(cases),
        "open_case_count": sum(c["status"] == "accepted" for c in cases),
        "cases": cases,
        "certificates": sorted(certificates, key=lambda c: c["issued_at"], reverse=True),
        "materials_on_file": sorted(materials.values(), key=lambda m: m["material_type"]),
        "open_alerts": alerts,
        "identity": identity,
        "legal_representative_id": subject.legal_representative_id,
        # Persons just before an entity in the pool represent it.
        "represented_entities": [],
        "names_by_department": sorted(names.values(), key=lambda e: e["department"]),
        "conflicts": conflicts,
        "risk_tier": risk,
        "last_activity_at": last,
        "last_updated_at": cases[0]["received_at"],
        "valid_on": VALID_ON,
        "built_at": BUILT_AT,
    }


def profile_batches(subjects: int, seed: int) -> Iterator[pa.RecordBatch]:
    """Gold rows for the first N distinct subjects of the simulator's pool, as Arrow batches."""
    # A pool twice as large as needed: ids of the same region and birthday collide now and then,
    # and gold holds one row per subject, so a repeated id is skipped.
    pool = SubjectPool(seed, 2 * subjects, VALID_ON)
    items: dict[str, list[Item]] = {"person": [], "entity": []}
    for item in CATALOGUE:
        items[item.subject_type].extend([item] * item.weight)
    rng = random.Random(seed)
    seen: set[str] = set()
    index = 0
    while len(seen) < subjects:
        rows: dict[str, dict[str, Any]] = {}
        while len(rows) < BATCH_ROWS and len(seen) < subjects:
            subject = pool.subject(index)
            if subject.subject_id not in seen:
                seen.add(subject.subject_id)
                rows[subject.subject_id] = profile_row(subject, index, items, rng)
            index += 1
        for row in rows.values():
            representative = rows.get(row["legal_representative_id"] or "")
            if representative is not None:
                representative["represented_entities"].append(row["subject_id"])
        yield pa.RecordBatch.from_pylist(list(rows.values()), schema=PROFILE_SCHEMA)
