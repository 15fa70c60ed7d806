import datetime as dt

import pytest

from hub.identifiers import (
    check_credit_code,
    check_resident_id,
    check_subject_id,
    credit_code_check_char,
    resident_id_check_char,
)

pytestmark = pytest.mark.unit

TODAY = dt.date(2026, 11, 25)


def with_resident_check(body: str) -> str:
    return body + resident_id_check_char(body)


def with_credit_check(body: str) -> str:
    return body + credit_code_check_char(body)


# Check characters computed by hand from GB 11643's weights (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2).
@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("11010519491231002X", True),  # the standard's own example; check character X
        ("440524188001010014", True),  # another published example
        ("11010519491231002Y", False),  # X is the only letter allowed
        ("110105194912310021", False),  # wrong check character
        ("440106202302300011", False),  # 30 February
        ("440106203001010015", False),  # born in the future
        ("990106198001010010", False),  # no province 99
        ("44010619800101001", False),  # 17 characters
        ("110105\uff11\uff19\uff14\uff191231002X", False),  # full-width digits in the birth year
        ("11010519491231002X\n", False),  # 19 characters, however the line ends
    ],
)
def test_resident_id(value: str, valid: bool) -> None:
    assert check_resident_id(value, TODAY).valid is valid


def test_resident_id_reasons_name_the_problem() -> None:
    assert "not a real date" in check_resident_id("440106202302300011", TODAY).reason
    assert "expected X" in check_resident_id("110105194912310021", TODAY).reason


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("91350100M000100Y43", True),  # a published example code
        ("91440106MA59C5XW3U", False),  # S/V-free charset but wrong check
        ("91350100M000100Y44", False),  # wrong check character
        ("9I350100M000100Y43", False),  # I is not in the character set
        ("B1350100M000100Y43", False),  # no registration authority B
        ("95350100M000100Y43", False),  # market regulation issues no type 5
    ],
)
def test_credit_code(value: str, valid: bool) -> None:
    assert check_credit_code(value).valid is valid


def test_generated_codes_round_trip() -> None:
    assert check_credit_code(with_credit_check("91440106MA59C5XW3")).valid
    assert check_resident_id(with_resident_check("44010619900307123"), TODAY).valid


def test_subject_kind_is_detected() -> None:
    assert check_subject_id("11010519491231002x", TODAY).kind == "person"
    assert check_subject_id("91350100M000100Y43", TODAY).kind == "entity"
    short = check_subject_id("123", TODAY)
    assert (short.kind, short.valid) == (None, False)
