"""The department registry: every department maps every required contract field, and every code
value it declares lands on a code of the shared list."""

import pytest

from jobs.departments import MAPPINGS_DIR, load_mappings
from quality.contracts import load_code_lists, load_contract

pytestmark = pytest.mark.unit


def test_five_departments_with_their_own_interfaces() -> None:
    mappings = load_mappings()
    assert {m.interface.kind for m in mappings.values()} == {"file_drop", "object_store", "rest_api", "jdbc"}
    assert set(mappings) <= load_code_lists()["department"]
    assert len(mappings) == 5


@pytest.mark.parametrize("department", sorted(load_mappings()))
def test_mapping_covers_the_contract(department: str) -> None:
    mapping = load_mappings()[department]
    contract = load_contract(mapping.contract)
    code_lists = load_code_lists()
    required = {f.name for f in contract.fields if f.required} - {"department"}
    assert required <= set(mapping.fields), f"unmapped required fields: {required - set(mapping.fields)}"
    assert set(mapping.fields) <= set(contract.field_names)
    for field_name, codes in mapping.codes.items():
        (field,) = [f for f in contract.fields if f.name == field_name]
        assert field.code_list, f"{field_name} has no code list to map to"
        assert set(codes.values()) <= code_lists[field.code_list]


def test_a_lookback_without_a_row_id_is_refused(tmp_path) -> None:
    text = (MAPPINGS_DIR / "human_resources.yaml").read_text(encoding="utf-8")
    (tmp_path / "human_resources.yaml").write_text(text.replace("row_id: XH", ""), encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"human_resources\.yaml: an interface that looks back needs a row_id"
    ):
        load_mappings(tmp_path)
