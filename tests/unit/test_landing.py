"""Landing windows: the watermark catches up missed runs, re-runs reuse their batch, backfills
never land a range twice, and rejected payloads are kept apart with their reason."""

import datetime as dt
from collections.abc import Iterator

import pytest

from hub.storage import LocalObjectStore
from jobs.landing import PullWindow, Source, SourceUnavailableError, land, plan_pull
from jobs.sources import local_window

pytestmark = pytest.mark.unit


class FakeDepartment:
    """A department system that sends one payload naming the window it was asked for."""

    def __init__(self) -> None:
        self.asked: list[PullWindow] = []
        self.down = False

    def fetch(self, window: PullWindow) -> Iterator[tuple[str, bytes]]:
        self.asked.append(window)
        if self.down:
            raise SourceUnavailableError("down")
        yield "part-1.json", f"{window.since.date()}..{window.until.date()}\n".encode()


def _accept(name: str, payload: bytes) -> str | None:
    return None


def _day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


def _land(store: LocalObjectStore, source: FakeDepartment, day: int):
    return land(store, "dept", plan_pull(store, "dept", local_window(_day(day))), source, _accept)


def test_run_pulls_exactly_its_interval_and_a_rerun_pulls_nothing(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    first = _land(store, source, 20)
    assert source.asked == [local_window(_day(20))]
    assert first.batch_id == "dept-20261120"
    again = _land(store, source, 20)
    assert again == first
    assert len(source.asked) == 1


def test_a_run_after_a_failed_one_catches_up_from_the_watermark(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    _land(store, source, 20)
    source.down = True
    with pytest.raises(SourceUnavailableError):
        _land(store, source, 21)
    source.down = False
    caught_up = _land(store, source, 22)
    assert caught_up.window == PullWindow(local_window(_day(21)).since, local_window(_day(22)).until)
    # The failed day is now covered by day 22's batch: running it later lands nothing new.
    assert _land(store, source, 21).batch_id == "dept-20261122"


def test_a_department_down_on_its_first_run_is_caught_up_next_time(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    source.down = True
    with pytest.raises(SourceUnavailableError):
        _land(store, source, 20)
    source.down = False
    caught_up = _land(store, source, 21)
    assert caught_up.window == PullWindow(local_window(_day(20)).since, local_window(_day(21)).until)
    assert _land(store, source, 22).window == local_window(_day(22))


def test_backfill_before_the_first_batch_pulls_its_own_interval(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    _land(store, source, 20)
    backfilled = _land(store, source, 10)
    assert backfilled.window == local_window(_day(10))
    assert _land(store, source, 11).window == local_window(_day(11))


def test_rejected_payload_is_kept_apart_with_its_reason(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    batch = land(
        store,
        "dept",
        plan_pull(store, "dept", local_window(_day(20))),
        source,
        lambda n, p: "schema drift: x",
    )
    assert batch.files == []
    assert [(r.key, r.reason) for r in batch.rejected] == [
        ("dept/dept-20261120/rejected/part-1.json", "schema drift: x")
    ]
    assert store.get_bytes(batch.rejected[0].key) == b"2026-11-20..2026-11-21\n"
    assert store.exists("dept/dept-20261120/_manifest.json")


def test_other_objects_under_the_department_are_not_batches(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    # A manifest of an older landing layout (by day, without a window) is left alone.
    store.put_bytes("dept/2026-11-19/_manifest.json", b'{"department": "dept"}')
    assert _land(store, source, 20).window == local_window(_day(20))


def test_local_store_lists_by_key_prefix_as_s3_does(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    for key in ("a/b-1/x", "a/b-2/y", "a/c/z"):
        store.put_bytes(key, b"")
    assert store.list_keys("a/b-") == ["a/b-1/x", "a/b-2/y"]
    assert store.list_keys("a/") == ["a/b-1/x", "a/b-2/y", "a/c/z"]
    assert store.list_keys("nothing/") == []


def _land_looking_back(store: LocalObjectStore, source: Source, day: int):
    plan = plan_pull(store, "dept", local_window(_day(day)), dt.timedelta(hours=24))
    return land(store, "dept", plan, source, _accept)


def test_a_pull_that_looks_back_reads_the_landed_day_before_again(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    first = _land_looking_back(store, source, 20)
    # Nothing was landed before the first batch, so there is nothing to read again.
    assert first.looked_back is None
    second = _land_looking_back(store, source, 21)
    assert source.asked[-1] == PullWindow(local_window(_day(20)).since, local_window(_day(21)).until)
    assert second.window == local_window(_day(21))
    assert second.looked_back == local_window(_day(20))
    # A re-run reads nothing; the manifest keeps what the pull read.
    assert _land_looking_back(store, source, 21) == second
    assert len(source.asked) == 2


def test_looking_back_never_reaches_into_a_gap_a_backfill_will_pull(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), FakeDepartment()
    _land_looking_back(store, source, 20)
    backfilled = _land_looking_back(store, source, 18)
    assert source.asked[-1] == local_window(_day(18))
    assert backfilled.looked_back is None


class ResendingDepartment:
    """A department system that hands over the exports it is given for each pull, as they are."""

    def __init__(self) -> None:
        self.exports: list[tuple[str, bytes]] = []

    def fetch(self, window: PullWindow) -> Iterator[tuple[str, bytes]]:
        yield from self.exports


EXPORT = b"case_id,status\nC-1,received\nC-2,decided\n"


def test_the_same_export_delivered_again_is_kept_apart_not_landed_twice(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), ResendingDepartment()
    source.exports = [("2026-11-20/cases.csv", EXPORT)]
    first = land(store, "dept", plan_pull(store, "dept", local_window(_day(20))), source, _accept)
    # The next day the department drops the same export again, under a new name, beside a new one.
    fresh = b"case_id,status\nC-3,received\n"
    source.exports = [("2026-11-21/cases-resent.csv", EXPORT), ("2026-11-21/cases.csv", fresh)]
    second = land(store, "dept", plan_pull(store, "dept", local_window(_day(21))), source, _accept)

    assert [f.key for f in first.files] == ["dept/dept-20261120/2026-11-20/cases.csv"]
    assert [f.key for f in second.files] == ["dept/dept-20261121/2026-11-21/cases.csv"]
    (redelivered,) = second.rejected
    assert redelivered.key == "dept/dept-20261121/rejected/2026-11-21/cases-resent.csv"
    assert redelivered.reason.startswith("redelivered: the same bytes")
    assert redelivered.reason.endswith("as dept/dept-20261120/2026-11-20/cases.csv")
    assert redelivered.sha256 == first.files[0].sha256
    # Nothing is lost: the second delivery's bytes are kept, unchanged, where bronze never reads.
    assert store.get_bytes(redelivered.key) == EXPORT


def test_a_file_sent_twice_in_one_pull_is_landed_once(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), ResendingDepartment()
    source.exports = [("2026-11-20/a.csv", EXPORT), ("2026-11-20/b.csv", EXPORT), ("2026-11-20/c.csv", b"")]
    batch = land(store, "dept", plan_pull(store, "dept", local_window(_day(20))), source, _accept)
    # Empty parts are alike without being a second delivery of anything.
    assert [f.key.rsplit("/", 1)[-1] for f in batch.files] == ["a.csv", "c.csv"]
    assert [r.key.rsplit("/", 1)[-1] for r in batch.rejected] == ["b.csv"]


def test_a_pull_that_looks_back_may_read_what_it_landed_before(tmp_path) -> None:
    store, source = LocalObjectStore(tmp_path), ResendingDepartment()
    source.exports = [("part-00001.json", EXPORT)]
    _land_looking_back(store, source, 20)
    # Nothing changed on day 21: the looked-back rows alone come again; bronze keeps them once.
    again = _land_looking_back(store, source, 21)
    assert [f.key for f in again.files] == ["dept/dept-20261121/part-00001.json"]
    assert again.rejected == []
