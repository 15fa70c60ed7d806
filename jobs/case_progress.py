"""The applicant's progress query: a case's verification code kept as its HMAC, and gold's
`case_progress` table the API answers the query from.

Pure DataFrame functions; `jobs/silver.py` hashes the code while conforming a case and
`jobs/pipeline.build_gold` writes the table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from hub.verification_codes import SEPARATORS, hmac_pads
from jobs.departments import DepartmentMapping
from quality.contracts import load_contract

HMAC_SHA256 = "hmac-sha256"
# What gold/case_progress holds: the case, where it stands and its timeline; nothing about the
# applicant or the officers who handled it.
CASE_PROGRESS_COLUMNS = (
    "department",
    "case_id",
    "verification_code_hmac",
    "item_code",
    "item_name",
    "received_at",
    "status",
    "promised_deadline",
    "timeline",
)
# How a hash that already replaced the secret in a held record's text is marked, so conforming the
# record again (a quarantine replay) keeps it instead of hashing it a second time.
HASHED = "hmac:"


TIMELINE_TYPE = "array<struct<event_type:string,at:timestamp>>"


def keyed_hash(value: Column, algorithm: str, key: bytes) -> Column:
    """HMAC-SHA256 of the value (normalised as `hub.verification_codes.normalised_code`) under
    `key`, as lower-case hex; null stays null.

    Spark has no keyed hash built in, but HMAC is two plain hashes over the key's pads, which are
    constants here: sha2(outer || sha2(inner || m)). The pads are literals of the plan, so whoever
    reads the Spark UI's plans must be trusted with the key, as whoever reads the settings is.
    """
    if algorithm != HMAC_SHA256:
        raise ValueError(f"unknown keyed hash {algorithm!r}; the contracts may name {HMAC_SHA256}")
    inner, outer = hmac_pads(key)
    message = F.encode(F.upper(F.regexp_replace(value, SEPARATORS, "")), "UTF-8")
    inner_hash = F.sha2(F.concat(F.unhex(F.lit(inner.hex())), message), 256)
    hashed = F.sha2(F.concat(F.unhex(F.lit(outer.hex())), F.unhex(inner_hash)), 256)
    # A held record's text carries the hash already (`without_secret`).
    return F.when(value.startswith(HASHED), F.substring(value, len(HASHED) + 1, 64)).otherwise(hashed)


def _json_path(path: str) -> str:
    # Bracket notation: a department's field may be no bare name (查询码).
    return "$" + "".join(f"['{part}']" for part in path.split("."))


def without_secret(record: Column, path: str, key: bytes) -> Column:
    """A record's JSON text with the value at `path` (a dotted path of the department's fields)
    replaced by `hmac:<its HMAC>`: what the quarantine keeps of a held record, so the secret stays
    in bronze alone and a replay still gets the hash. A record without the value is unchanged."""
    value = F.get_json_object(record, _json_path(path))
    quoted_key = json.dumps(path.rsplit(".", maxsplit=1)[-1], ensure_ascii=False)
    # The key and its value, a JSON string (escapes and all) or number.
    pattern = re.escape(quoted_key) + r'\s*:\s*(?:"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)'
    replacement = F.concat(F.lit(f'{quoted_key}:"{HASHED}'), keyed_hash(value, HMAC_SHA256, key), F.lit('"'))
    return F.when(value.isNull(), record).otherwise(F.regexp_replace(record, F.lit(pattern), replacement))


def secret_paths(mappings: Mapping[str, DepartmentMapping]) -> dict[str, str]:
    """Department -> where its records hold a value its contract keeps only as a keyed hash."""
    return {
        department: mapping.fields[field.name]
        for department, mapping in mappings.items()
        for field in load_contract(mapping.contract).fields
        if field.keyed_hash and field.name in mapping.fields
    }


def case_progress(cases: DataFrame, events: DataFrame) -> DataFrame:
    """Per case (silver's newest version), what its applicant may follow: the item, when it was
    received, its status and promised date, and its events' types and times in order.

    Events are matched to their case by department and case id; a case without events has an
    empty timeline. Ties in time are broken by the event id, so the order is the same every build.
    """
    step = F.struct(
        F.col("event_at").alias("at"),
        F.col("event_id").alias("event_id"),
        F.col("event_type").alias("event_type"),
    )
    timelines = events.groupBy("department", "case_id").agg(
        F.sort_array(F.collect_list(step)).alias("_steps")
    )
    timeline = F.coalesce(
        F.transform("_steps", lambda s: F.struct(s["event_type"].alias("event_type"), s["at"].alias("at"))),
        F.array().cast(TIMELINE_TYPE),
    )
    return cases.join(timelines, ["department", "case_id"], "left").select(
        *[c for c in CASE_PROGRESS_COLUMNS if c != "timeline"], timeline.alias("timeline")
    )
