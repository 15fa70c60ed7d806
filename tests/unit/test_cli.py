import pytest
from typer.testing import CliRunner

from hub.cli import app

pytestmark = pytest.mark.unit


def test_ids_check_reports_each_value_and_fails_on_any_invalid() -> None:
    result = CliRunner().invoke(app, ["ids", "check", "11010519491231002X", "440106202302300011"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].split() == ["11010519491231002X", "person", "valid"]
    assert "not a real date" in lines[1]


def test_ids_check_exits_zero_when_all_are_valid() -> None:
    result = CliRunner().invoke(app, ["ids", "check", "91350100M000100Y43", "11010519491231002x"])
    assert result.exit_code == 0
    assert [line.split()[1] for line in result.output.splitlines()] == ["entity", "person"]


def test_lake_commands_name_the_known_tables_for_an_unknown_one() -> None:
    result = CliRunner().invoke(app, ["lake", "restore", "gold.subject_profil", "--version", "3"])
    assert result.exit_code == 2
    assert "unknown table 'gold.subject_profil'" in result.output
    assert "gold.subject_profile" in result.output
