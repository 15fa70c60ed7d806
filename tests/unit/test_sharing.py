"""What may be shared over Delta Sharing, and the recipients' tokens and profile files."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.settings import Settings, get_settings
from hub.sharing import (
    InvalidSharingTokenError,
    RecipientExistsError,
    RecipientRegistry,
    SharingConfigError,
    UnknownShareError,
    load_shares,
    parse_shares,
    recipient_registry,
    token_name,
)
from hub.storage import LocalObjectStore

pytestmark = pytest.mark.unit

SOURCE = "contracts/sharing.yaml"


def test_the_shipped_shares_hold_only_shareable_analyst_marts() -> None:
    shares = load_shares(Settings().sharing_config)
    assert {t.name for t in shares.tables("analytics")} == {
        "throughput_daily",
        "throughput_monthly",
        "evaluation_summary",
        "supervision_monthly",
    }


@pytest.mark.parametrize(
    ("tables", "reason"),
    [
        (["subject_profile"], "analytics.s.subject_profile is not an analyst mart"),
        (["case_facts"], "case_facts is not an analyst mart"),
        # Its rows name the officer who decided: conditional in the contracts.
        (["consistency"], "its rows name officer_id (case_event.actor_id is conditional)"),
    ],
)
def test_a_share_of_anything_else_is_refused_naming_the_file(tables: list[str], reason: str) -> None:
    with pytest.raises(SharingConfigError, match=r"^contracts/sharing\.yaml: ") as raised:
        parse_shares({"shares": {"analytics": {"s": tables}}}, SOURCE)
    assert reason in str(raised.value)


@pytest.mark.parametrize(
    "document",
    [None, {"shares": []}, {"shares": {"A": {"s": ["throughput_daily"]}}}, {"shares": {"a": {"s": []}}}],
)
def test_a_malformed_shares_file_is_refused(document: object) -> None:
    with pytest.raises(SharingConfigError, match=r"^contracts/sharing\.yaml: "):
        parse_shares(document, SOURCE)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def registry(tmp_path: Path) -> RecipientRegistry:
    return RecipientRegistry(LocalObjectStore(tmp_path), load_shares(Settings().sharing_config), Clock())


def test_a_token_opens_its_recipient_until_it_expires_and_only_its_hash_is_stored(
    registry: RecipientRegistry, tmp_path: Path
) -> None:
    added = registry.add("statistics-bureau", "analytics", days=30)
    assert token_name(added.token) == "statistics-bureau"
    stored = (tmp_path / "sharing/recipients/statistics-bureau.json").read_text()
    assert added.token not in stored
    assert json.loads(stored)["share"] == "analytics"
    assert registry.authenticate(added.token, registry.get("statistics-bureau")).share == "analytics"
    with pytest.raises(InvalidSharingTokenError, match="not a recipient's token"):
        registry.authenticate(added.token + "x", registry.get("statistics-bureau"))
    assert isinstance(registry.clock, Clock)
    registry.clock.now += dt.timedelta(days=30)
    with pytest.raises(InvalidSharingTokenError, match="expired at 2026-12-26T08:00:00"):
        registry.authenticate(added.token, registry.get("statistics-bureau"))


def test_a_revoked_recipient_is_refused_and_names_and_shares_are_checked(registry: RecipientRegistry) -> None:
    added = registry.add("bureau", "supervision", days=1)
    registry.revoke("bureau")
    with pytest.raises(InvalidSharingTokenError, match="revoked"):
        registry.authenticate(added.token, registry.get("bureau"))
    with pytest.raises(RecipientExistsError):
        registry.add("bureau", "supervision", days=1)
    with pytest.raises(UnknownShareError, match="the shares are: analytics, supervision"):
        registry.add("other", "everything", days=1)
    with pytest.raises(ValueError, match="lower-case"):
        registry.add("../x", "analytics", days=1)
    with pytest.raises(ValueError, match="1 to 366 days"):
        registry.add("other", "analytics", days=0)


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_add_recipient_writes_a_profile_only_its_owner_reads(own_home: Settings, tmp_path: Path) -> None:
    profile_path = tmp_path / "profiles" / "bureau.share"
    result = CliRunner().invoke(
        app,
        ["sharing", "add-recipient", "bureau", "--share", "analytics", "--days", "7",
         "--endpoint", "https://hub.example/delta-sharing/", "--output", str(profile_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    profile = json.loads(profile_path.read_text())
    assert set(profile) == {"shareCredentialsVersion", "endpoint", "bearerToken", "expirationTime"}
    assert (profile["shareCredentialsVersion"], profile["endpoint"]) == (
        1,
        "https://hub.example/delta-sharing",
    )
    assert profile_path.stat().st_mode & 0o777 == 0o600
    recipient = recipient_registry(own_home).get("bureau")
    assert recipient is not None
    assert dt.datetime.fromisoformat(profile["expirationTime"]) == recipient.expires_at
    assert recipient.expires_at - recipient.created_at == dt.timedelta(days=7)
    assert recipient_registry(own_home).authenticate(profile["bearerToken"], recipient).name == "bureau"

    again = CliRunner().invoke(app, ["sharing", "add-recipient", "bureau", "--share", "analytics"])
    assert again.exit_code == 2
    assert "exists" in again.output
    listed = CliRunner().invoke(app, ["sharing", "list"])
    assert listed.output.split()[:2] == ["bureau", "analytics"]
    assert profile["bearerToken"] not in listed.output
