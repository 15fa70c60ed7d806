"""Hand-made bronze rows of the food and drug department, for conform and quarantine tests."""

import json
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from hub.simulator.catalogue import CATALOGUE


def case_reference_data(spark: SparkSession) -> dict[str, DataFrame]:
    """What the case contract's rules look up: the item catalogue (the columns they read)."""
    items = spark.createDataFrame(
        [(item.code, item.promised_days) for item in CATALOGUE], "item_code string, promised_days int"
    )
    return {"approval_item": items}


# The hub's key of verification code HMACs in these tests (HUB_CASE_CODE_KEY).
CASE_CODE_KEY = b"tests-only-case-code-key-32-bytes"

BRONZE_SCHEMA = "_department string, _batch_id string, record string, _source_file string, _source_line int"

# One valid food and drug export record, as its JSON Lines file carries it.
GOOD_FOOD_DRUG_RECORD: dict[str, Any] = {
    "caseNo": "SY1",
    "applicant": {"idNo": "11010519491231002X", "name": "陈伟", "kind": "P"},
    "item": {"code": "SYJ-0202-01", "title": "食品摊贩登记", "tier": "COMMUNITY"},
    "channel": "WINDOW",
    "state": "DONE",
    "receivedAt": "2026-11-01T09:00:00",
    "decidedAt": "2026-11-02T10:00:00",
    # Received on a Sunday: the item's 3 promised working days count from Monday 2 November.
    "deadline": "2026-11-05",
    "updatedAt": "2026-11-02T10:00:00",
    "receipt": {"queryCode": "k7mq-3z9p"},
    "materials": [
        {
            "id": "SY1-01",
            "type": "id_card_copy",
            "file": "materials/5e/5e1f.pdf",
            "sha256": "5e1f" * 16,
            "accepted": True,
            "validUntil": "2031-05-01",
            "issuer": None,
        }
    ],
}


def food_drug_bronze(
    spark: SparkSession, records: list[dict[str, Any]], source_files: list[str] | None = None
) -> DataFrame:
    """Bronze rows for `records`, numbered from line 1 in file order."""
    files = source_files or ["file:///x.jsonl"] * len(records)
    rows = [
        ("food_drug", "b1", json.dumps(r, ensure_ascii=False), f, i + 1)
        for i, (r, f) in enumerate(zip(records, files, strict=True))
    ]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)
