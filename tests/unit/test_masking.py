"""Masking personal data: what each mask keeps, and which mask each personal field of the contracts
gets."""

import pytest

from api.masking import (
    HIDDEN,
    mask_date,
    mask_identifier,
    mask_name,
    mask_phone,
    mask_whole,
    masker_for,
)
from quality.contracts import load_contract

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("440106202302280011", "440106********0011"),
        ("91350100M000100Y43", "913501********0Y43"),
        # Too short for the first 6 and last 4 to leave at least four hidden: hidden whole.
        ("W0123", HIDDEN),
        ("12345678901234", "123456****1234"),
    ],
)
def test_an_identifier_keeps_its_first_6_and_last_4(value: str, masked: str) -> None:
    assert mask_identifier(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13800000001", "138****0001"), ("+8613800000001", "+86*******0001"), ("110", HIDDEN)],
)
def test_a_phone_number_keeps_its_first_3_and_last_4(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(("value", "masked"), [("陈伟", "陈*"), ("欧阳娜娜", "欧***"), ("王", HIDDEN)])
def test_a_name_keeps_its_first_character(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@pytest.mark.parametrize(("value", "masked"), [("1949-12-31", "1949-**-**"), ("31/12/1949", HIDDEN)])
def test_a_date_keeps_its_year(value: str, masked: str) -> None:
    assert mask_date(value) == masked


def test_anything_else_is_hidden_whole_whatever_its_length() -> None:
    assert mask_whole("male") == mask_whole("广州市天河区黄埔大道西157号") == HIDDEN


@pytest.mark.parametrize(
    ("contract", "field", "mask"),
    [
        ("case", "subject_id", mask_identifier),
        ("case", "subject_name", mask_name),
        ("subject", "name", mask_name),
        ("subject", "legal_representative_id", mask_identifier),
        ("subject", "mobile_phone", mask_phone),
        ("courier_delivery", "recipient_mobile", mask_phone),
        ("subject", "birth_date", mask_date),
        ("subject", "gender", mask_whole),
        ("subject", "address", mask_whole),
        ("evaluation", "comment", mask_whole),
    ],
)
def test_each_personal_field_gets_the_mask_of_its_kind(contract: str, field: str, mask: object) -> None:
    assert masker_for(load_contract(contract).field(field)) is mask


def test_every_mask_changes_what_it_masks() -> None:
    """Whatever a personal field of any contract holds, its mask shows less than the value."""
    samples = {"subject_id": "11010519491231002X", "mobile_phone": "13800000001", "name": "陈伟"}
    for name in (
        "case",
        "subject",
        "material",
        "certificate",
        "case_event",
        "evaluation",
        "courier_delivery",
    ):
        for field in load_contract(name).fields:
            if field.personal_data:
                value = samples.get(field.name, "1949-12-31" if field.physical_type == "date" else "值 value")
                assert masker_for(field)(value) != value, f"{name}.{field.name}"
