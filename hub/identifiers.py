"""Subject identifiers: resident ID numbers (GB 11643) and unified social credit codes (GB 32100).

Pure functions, used by the API to reject malformed ids and by `hub ids check`. The Spark row
rules in quality/ run the same checks as Java UDFs (infra/udf); a test keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

SubjectKind = Literal["person", "entity"]

# GB 11643: the first two digits of the region code name a province-level division.
PROVINCE_CODES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    }
)
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# ISO 7064 MOD 11-2: index is (weighted sum mod 11).
RESIDENT_ID_CHECK_CHARS = "10X98765432"

# GB 32100: 31 characters, no I, O, Z, S, V.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Registration authority code -> the organisation type codes it may issue.
CREDIT_CODE_TYPES: dict[str, str] = {
    "1": "1239",  # 机构编制
    "2": "19",  # 外交
    "3": "1234589",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 市场监管 (工商)
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业
    "Y": "1",  # 其他
}

# ASCII only, matched whole: Python's \d also takes other scripts' digits (which int() then
# reads), and $ a trailing newline; the Spark checks accept neither.
_RESIDENT_ID_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)
_CREDIT_CODE_SHAPE = re.compile(rf"[{CREDIT_CODE_CHARSET}]{{18}}")


@dataclass(frozen=True)
class IdCheck:
    value: str
    kind: SubjectKind | None
    valid: bool
    reason: str = ""


def resident_id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK_CHARS[total % 11]


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def check_resident_id(value: str, today: dt.date | None = None) -> IdCheck:
    today = today or dt.date.today()
    if not _RESIDENT_ID_SHAPE.fullmatch(value):
        return IdCheck(value, "person", False, "a resident ID is 17 digits and a digit or X")
    if value[:2] not in PROVINCE_CODES:
        return IdCheck(value, "person", False, f"region code {value[:6]} names no province")
    try:
        # Not strptime, which costs more than the rest of the check (every API request makes it).
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return IdCheck(value, "person", False, f"birth date {value[6:14]} is not a real date")
    if birth > today or birth.year < 1800:
        return IdCheck(value, "person", False, f"birth date {birth.isoformat()} is out of range")
    expected = resident_id_check_char(value[:17])
    if value[17] != expected:
        return IdCheck(value, "person", False, f"check character is {value[17]}, expected {expected}")
    return IdCheck(value, "person", True)


def check_credit_code(value: str) -> IdCheck:
    if not _CREDIT_CODE_SHAPE.fullmatch(value):
        return IdCheck(value, "entity", False, f"a credit code is 18 characters of {CREDIT_CODE_CHARSET}")
    allowed_types = CREDIT_CODE_TYPES.get(value[0])
    if allowed_types is None:
        return IdCheck(value, "entity", False, f"registration authority code {value[0]} is not assigned")
    if value[1] not in allowed_types:
        return IdCheck(value, "entity", False, f"type code {value[1]} is not issued by authority {value[0]}")
    if not value[2:8].isdigit() or value[2:4] not in PROVINCE_CODES:
        return IdCheck(value, "entity", False, f"region code {value[2:8]} names no province")
    expected = credit_code_check_char(value[:17])
    if value[17] != expected:
        return IdCheck(value, "entity", False, f"check character is {value[17]}, expected {expected}")
    return IdCheck(value, "entity", True)


def check_subject_id(value: str, today: dt.date | None = None) -> IdCheck:
    """Classify an id as a person's or an entity's and check it.

    The two shapes overlap (a credit code may be all digits), so a value valid as either is
    that kind; an invalid one is judged as a resident ID unless it starts with a letter or 9,
    which no region code does.
    """
    value = value.strip().upper()
    if len(value) != 18:
        return IdCheck(value, None, False, f"a subject id has 18 characters, this one has {len(value)}")
    as_person = check_resident_id(value, today) if _RESIDENT_ID_SHAPE.fullmatch(value) else None
    if as_person is not None and as_person.valid:
        return as_person
    as_entity = check_credit_code(value)
    if as_entity.valid or as_person is None or value[0] == "9":
        return as_entity
    return as_person
