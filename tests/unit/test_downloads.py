"""Local material links: signed by the API, refused when altered or expired, never outside the
materials folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from api.downloads import LOCAL_FILES_PATH, LinkRefusedError, SignedLocalMaterialFiles
from tests.clocks import WallClock

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 26, 2, tzinfo=dt.UTC)
KEY = "materials/ab/abcd.pdf"


@pytest.fixture
def clock() -> WallClock:
    return WallClock(NOW)


@pytest.fixture
def files(tmp_path: Path, clock: WallClock) -> SignedLocalMaterialFiles:
    (tmp_path / "materials" / "ab").mkdir(parents=True)
    (tmp_path / KEY).write_bytes(b"%PDF-1.7 health certificate")
    (tmp_path.parent / "outside.pdf").write_bytes(b"not a material")
    return SignedLocalMaterialFiles(tmp_path, b"k" * 32, dt.timedelta(seconds=120), clock)


def _parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return (
        unquote(split.path.removeprefix(LOCAL_FILES_PATH + "/")),
        int(query["expires"][0]),
        query["signature"][0],
    )


def test_a_link_opens_its_file_until_it_expires(files: SignedLocalMaterialFiles, clock: WallClock) -> None:
    link = files.link(KEY, "http://127.0.0.1:8000/")
    assert link is not None
    assert link.url.startswith(f"http://127.0.0.1:8000{LOCAL_FILES_PATH}/materials/ab/abcd.pdf?expires=")
    assert link.expires_at == NOW + dt.timedelta(seconds=120)
    key, expires, signature = _parts(link.url)
    assert files.open(key, expires, signature).read_bytes() == b"%PDF-1.7 health certificate"
    clock.now = NOW + dt.timedelta(seconds=120)
    with pytest.raises(LinkRefusedError, match="expired"):
        files.open(key, expires, signature)


def test_an_altered_link_opens_nothing(files: SignedLocalMaterialFiles) -> None:
    link = files.link(KEY, "http://api")
    assert link is not None
    key, expires, signature = _parts(link.url)
    for altered in (
        ("materials/cd/cdef.pdf", expires, signature),
        (key, expires + 3600, signature),
        (key, expires, "0" * 64),
        (key, expires, "©" * 64),
    ):
        with pytest.raises(LinkRefusedError, match="signature"):
            files.open(*altered)
    # Another key signs other links.
    other = SignedLocalMaterialFiles(files.root, b"x" * 32, files.lifetime, files.clock)
    with pytest.raises(LinkRefusedError, match="signature"):
        other.open(key, expires, signature)


def test_no_link_to_a_missing_file_nor_outside_the_folder(files: SignedLocalMaterialFiles) -> None:
    assert files.link("materials/zz/missing.pdf", "http://api") is None
    assert files.link("../outside.pdf", "http://api") is None
    assert files.link("", "http://api") is None
    expires = int((NOW + dt.timedelta(seconds=60)).timestamp())
    with pytest.raises(FileNotFoundError):
        files.open("../outside.pdf", expires, files.signature("../outside.pdf", expires))
