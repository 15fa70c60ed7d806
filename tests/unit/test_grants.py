"""The grant registry: a grant opens data to one department for one purpose, for a span of district
days, until revoked; what it refuses to record; and how the API's cache of it lags the registry."""

import datetime as dt

import pytest

from api.cache import ReadThroughCache
from hub.credentials import UnknownDepartmentError
from hub.grants import (
    Grant,
    GrantRegistry,
    UnknownGrantError,
    UnknownPurposeError,
    active_grants,
    purposes,
)
from hub.settings import DISTRICT_TIMEZONE
from hub.storage import LocalObjectStore
from tests.clocks import MonotonicClock, WallClock

pytestmark = pytest.mark.unit

DEPARTMENTS = ["food_drug", "health", "market_regulation"]
# 2026-11-26 09:00 in the district.
NOW = dt.datetime(2026, 11, 26, 1, tzinfo=dt.UTC)
BASIS = "区政务办〔2026〕12号 data-sharing agreement"


@pytest.fixture
def clock() -> WallClock:
    return WallClock(NOW)


@pytest.fixture
def store(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path)


@pytest.fixture
def registry(store: LocalObjectStore, clock: WallClock) -> GrantRegistry:
    return GrantRegistry(store, DEPARTMENTS, purposes(), clock)


def _create(
    registry: GrantRegistry,
    department: str = "food_drug",
    purpose: str = "approval_handling",
    *,
    approved_by: str = "王主任",
    basis: str = BASIS,
    unmasked: bool = False,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
) -> Grant:
    return registry.create(
        department,
        purpose,
        approved_by=approved_by,
        basis=basis,
        unmasked=unmasked,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def test_the_purposes_are_the_code_list() -> None:
    assert purposes() == {"approval_handling", "supervision", "statistics"}


def test_a_grant_is_stored_under_its_department_and_read_back_whole(
    registry: GrantRegistry, store: LocalObjectStore
) -> None:
    grant = _create(registry, unmasked=True, valid_until=dt.date(2027, 6, 30))
    assert grant.grant_id.startswith("food_drug-approval_handling-")
    assert store.list_keys("grants/") == [f"grants/food_drug/{grant.grant_id}.json"]
    assert registry.get(grant.grant_id) == grant
    assert (grant.valid_from, grant.valid_until, grant.unmasked) == (
        dt.date(2026, 11, 26),
        dt.date(2027, 6, 30),
        True,
    )
    assert (grant.approved_by, grant.basis, grant.created_at) == ("王主任", BASIS, NOW)
    assert grant.revoked_at is None


def test_a_grant_starts_on_the_district_day_it_is_made(registry: GrantRegistry, clock: WallClock) -> None:
    # 23:30 UTC on the 25th is already the 26th in the district.
    clock.now = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)
    assert _create(registry).valid_from == dt.date(2026, 11, 26)


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (dt.datetime(2026, 11, 30, 23, 59, tzinfo=DISTRICT_TIMEZONE), "not_yet_valid"),
        (dt.datetime(2026, 12, 1, 0, 0, tzinfo=DISTRICT_TIMEZONE), "active"),
        (dt.datetime(2026, 12, 31, 23, 59, tzinfo=DISTRICT_TIMEZONE), "active"),
        (dt.datetime(2027, 1, 1, 0, 0, tzinfo=DISTRICT_TIMEZONE), "expired"),
    ],
)
def test_a_grant_is_active_from_its_first_to_its_last_district_day(
    registry: GrantRegistry, at: dt.datetime, status: str
) -> None:
    grant = _create(registry, valid_from=dt.date(2026, 12, 1), valid_until=dt.date(2026, 12, 31))
    assert grant.status(at) == status
    assert grant.active(at) == (status == "active")


def test_a_revoked_grant_grants_nothing_from_its_revocation(
    registry: GrantRegistry, clock: WallClock
) -> None:
    grant = _create(registry)
    clock.now = NOW + dt.timedelta(hours=2)
    revoked = registry.revoke(grant.grant_id)
    assert revoked.revoked_at == clock.now
    assert registry.get(grant.grant_id) == revoked
    assert revoked.status(clock.now) == "revoked"
    # Kept in the registry: that it was in force before the revocation can still be answered.
    assert revoked.status(NOW + dt.timedelta(hours=1)) == "active"
    clock.now += dt.timedelta(days=1)
    assert registry.revoke(grant.grant_id).revoked_at == NOW + dt.timedelta(hours=2)


def test_active_grants_are_the_departments_for_the_purpose_now(
    registry: GrantRegistry, clock: WallClock
) -> None:
    wanted = _create(registry)
    _create(registry, purpose="statistics")
    _create(registry, "health")
    _create(registry, valid_until=dt.date(2026, 11, 25), valid_from=dt.date(2026, 11, 1))
    registry.revoke(_create(registry).grant_id)
    everything = registry.list_grants()
    assert len(everything) == 5
    assert active_grants(everything, "food_drug", "approval_handling", NOW) == (wanted,)


def test_list_by_department_and_in_creation_order(registry: GrantRegistry, clock: WallClock) -> None:
    first = _create(registry)
    clock.now += dt.timedelta(minutes=1)
    other = _create(registry, "health")
    clock.now += dt.timedelta(minutes=1)
    second = _create(registry, purpose="supervision")
    assert registry.list_grants() == (first, other, second)
    assert registry.list_grants("food_drug") == registry.for_department("food_drug") == (first, second)
    assert registry.for_department("market_regulation") == ()


@pytest.mark.parametrize(
    ("department", "changes", "error", "message"),
    [
        ("fire", {}, UnknownDepartmentError, "unknown department 'fire'"),
        ("food_drug", {"purpose": "marketing"}, UnknownPurposeError, "unknown purpose 'marketing'"),
        ("food_drug", {"basis": "  "}, ValueError, "basis"),
        ("food_drug", {"approved_by": ""}, ValueError, "approved"),
        (
            "food_drug",
            {"valid_from": dt.date(2027, 1, 1), "valid_until": dt.date(2026, 12, 31)},
            ValueError,
            "cannot start",
        ),
    ],
)
def test_a_grant_that_cannot_be_accounted_for_is_refused(
    *,
    registry: GrantRegistry,
    store: LocalObjectStore,
    department: str,
    changes: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        _create(registry, department, **changes)  # type: ignore[arg-type]
    assert store.list_keys("grants/") == []


@pytest.mark.parametrize(
    "grant_id",
    ["food_drug-approval_handling-0123456789abcdef", "../credentials/x", "food_drug", ""],
)
def test_an_unknown_or_malformed_grant_id_is_none_and_cannot_be_revoked(
    registry: GrantRegistry, grant_id: str
) -> None:
    assert registry.get(grant_id) is None
    with pytest.raises(UnknownGrantError):
        registry.revoke(grant_id)


def test_the_apis_cache_sees_a_revocation_once_it_lapses(registry: GrantRegistry, clock: WallClock) -> None:
    grant = _create(registry)
    monotonic = MonotonicClock()
    cached = ReadThroughCache(registry.for_department, 5.0, monotonic)
    assert active_grants(cached.get("food_drug"), "food_drug", "approval_handling", NOW) == (grant,)
    registry.revoke(grant.grant_id)
    monotonic.now += 4.9
    assert active_grants(cached.get("food_drug"), "food_drug", "approval_handling", NOW) == (grant,)
    monotonic.now += 0.2
    assert active_grants(cached.get("food_drug"), "food_drug", "approval_handling", NOW) == ()


def test_expiry_needs_no_cache_refresh(registry: GrantRegistry) -> None:
    """Grants are cached whole and judged at each request, so one expires on time even while cached."""
    grant = _create(registry, valid_until=dt.date(2026, 11, 26))
    cached = ReadThroughCache(registry.for_department, 3600.0, MonotonicClock())
    assert active_grants(cached.get("food_drug"), "food_drug", "approval_handling", NOW) == (grant,)
    next_day = NOW + dt.timedelta(days=1)
    assert active_grants(cached.get("food_drug"), "food_drug", "approval_handling", next_day) == ()
