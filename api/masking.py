"""How personal data is masked when a department may see that a value exists but not the value.

Each function keeps what a window needs to tell records apart or check a paper in front of it
(the region and the last digits of an ID, the surname, the year of a date) and hides the rest.
Which function masks a field follows from the field in its contract (`masker_for`), so a new
personal field is masked the day it is added.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from quality.contracts import Field

Masker = Callable[[str], str]

# Shown for a value no partial form suits (a gender, an address, a note): the same mark whatever
# the value, so not even its length shows.
HIDDEN = "******"
ISO_DATE = re.compile(r"(\d{4})-\d{2}-\d{2}")


def keep_ends(value: str, first: int, last: int) -> str:
    """`value` with all but its first and last characters starred; wholly hidden when it is too
    short for that to hide at least four."""
    hidden = len(value) - first - last
    if hidden < 4:
        return HIDDEN
    return value[:first] + "*" * hidden + value[len(value) - last :]


def mask_identifier(value: str) -> str:
    """A resident ID keeps its region (first 6) and last 4: 110105********002X. A credit code, also
    18 characters, is cut the same way."""
    return keep_ends(value, 6, 4)


def mask_phone(value: str) -> str:
    """A mobile number keeps its carrier prefix (first 3) and last 4: 138****0001."""
    return keep_ends(value, 3, 4)


def mask_name(value: str) -> str:
    """A name keeps its first character (a Chinese surname): 陈*, 欧阳** keeps 欧 only."""
    if len(value) < 2:
        return HIDDEN
    return value[0] + "*" * (len(value) - 1)


def mask_date(value: str) -> str:
    """A date keeps its year: 1949-**-**."""
    matched = ISO_DATE.match(value)
    return f"{matched[1]}-**-**" if matched else HIDDEN


def mask_whole(value: str) -> str:
    return HIDDEN


def masker_for(field: Field) -> Masker:
    """The mask for a personal field, by its type and the naming the contracts follow."""
    if field.physical_type in {"date", "timestamp"}:
        return mask_date
    if field.name.endswith(("phone", "mobile")):
        return mask_phone
    if field.name == "name" or field.name.endswith("_name"):
        return mask_name
    if field.name.endswith("_id"):
        return mask_identifier
    return mask_whole
