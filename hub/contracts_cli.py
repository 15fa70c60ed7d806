"""`hub contracts`: compare contract versions, and keep the baseline the next release is compared with."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
import yaml

from quality.contract_diff import Change, diff_contracts, required_bump
from quality.contracts import CONTRACTS_DIR, load_code_lists

BASELINE_DIR = CONTRACTS_DIR / "baseline"

contracts_app = typer.Typer(help="Compare contract versions with the release baseline.", no_args_is_help=True)


def _code_lists_beside(contract: Path) -> dict[str, frozenset[str]]:
    # Each side is compared with the code lists of its own release, kept next to it.
    if not (contract.parent / "code_lists.yaml").exists():
        return {}
    return load_code_lists(contract.parent)


def diff_files(old: Path, new: Path) -> tuple[list[Change], str | None]:
    """The changes from contract file `old` to `new`, and why the version must change (None: it need not)."""
    old_document = yaml.safe_load(old.read_text(encoding="utf-8"))
    new_document = yaml.safe_load(new.read_text(encoding="utf-8"))
    changes = diff_contracts(old_document, new_document, _code_lists_beside(old), _code_lists_beside(new))
    return changes, required_bump(str(old_document["version"]), str(new_document["version"]), changes)


@contracts_app.command("diff")
def diff(
    old: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Earlier version of the contract.")
    ],
    new: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Later version of the contract.")],
) -> None:
    """Print each change as BREAKING or compatible; exit 1 when a breaking change lacks a major bump.

    Each file's codeList names resolve in the code_lists.yaml in its own folder.
    """
    changes, bump = diff_files(old, new)
    for change in changes:
        label = "compatible" if change.compatible else "BREAKING"
        typer.echo(f"{label}\t{change.field or '(contract)'}\t{change.reason}")
    if not changes:
        typer.echo("no changes")
    if bump:
        typer.echo(bump)
        raise typer.Exit(code=1)


@contracts_app.command("baseline")
def baseline(
    contracts_dir: Annotated[Path, typer.Option(help="Folder holding the contracts.")] = CONTRACTS_DIR,
) -> None:
    """Copy every contract and the code lists into <contracts>/baseline/, to be committed with a release."""
    target = contracts_dir / BASELINE_DIR.name
    target.mkdir(exist_ok=True)
    for source in [*sorted(contracts_dir.glob("*.odcs.yaml")), contracts_dir / "code_lists.yaml"]:
        shutil.copyfile(source, target / source.name)
        typer.echo(f"{source.name} -> {target / source.name}")
