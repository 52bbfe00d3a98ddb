"""Reading JPS 1.x and the per-block-salt variant of JPS 2.0.

sitepack never writes these, so the archives come from the test-only encoder in
``akeeba_like.py``.
"""

from __future__ import annotations

import os

import pytest

from restorer.errors import ArchiveError, WrongPasswordError
from restorer.formats import open_archive
from tests.archive.akeeba_like import jps_archive

ENTRIES = [
    ("empty-dir/", 0, b"", 0o40755, 1600000000),
    ("site/index.php", 1, b"<?php echo 'hi';\n" * 900, 0o100644, 1600000001),
    ("site/blank.txt", 1, b"", 0o100600, 1600000002),
    ("site/ünïcode €.txt", 1, os.urandom(12000), 0o100640, 1600000003),
    ("site/link", 2, b"index.php", 0o120777, 1600000004),
]


@pytest.mark.parametrize("variant", ["1.x", "2.0-per-block-salt"])
def test_reads_legacy_variants(tmp_path, variant):
    archive = tmp_path / "old.jps"
    archive.write_bytes(jps_archive(ENTRIES, "sesame", variant))
    with open_archive(archive, "sesame") as reader:
        assert reader.format == ("jps1" if variant == "1.x" else "jps2")
        got = [(e.path, int(e.type), b"".join(chunks), e.mode, e.mtime, e.target)
               for e, chunks in reader.entries()]
    assert got == [
        ("empty-dir", 0, b"", 0o40755, 1600000000, None),
        ("site/index.php", 1, ENTRIES[1][2], 0o100644, 1600000001, None),
        ("site/blank.txt", 1, b"", 0o100600, 1600000002, None),
        ("site/ünïcode €.txt", 1, ENTRIES[3][2], 0o100640, 1600000003, None),
        ("site/link", 2, b"index.php", 0o120777, 1600000004, "index.php"),
    ]


@pytest.mark.parametrize("variant", ["1.x", "2.0-per-block-salt"])
def test_legacy_wrong_password(tmp_path, variant):
    archive = tmp_path / "old.jps"
    archive.write_bytes(jps_archive(ENTRIES, "sesame", variant))
    with pytest.raises(WrongPasswordError, match=r"^wrong password for old\.jps: "):
        open_archive(archive, "open up")


def test_listing_skips_unread_data(tmp_path):
    archive = tmp_path / "old.jps"
    archive.write_bytes(jps_archive(ENTRIES, "sesame", "1.x"))
    with open_archive(archive, "sesame") as reader:
        assert [e.path for e, _ in reader.entries()] == [
            "empty-dir", "site/index.php", "site/blank.txt", "site/ünïcode €.txt", "site/link"]


def test_unknown_jps_version_is_refused_by_name(tmp_path):
    archive = tmp_path / "future.jps"
    archive.write_bytes(b"JPS\x07\x01\x00\x00\x00" + bytes(100))
    with pytest.raises(ArchiveError, match=r"^future\.jps is a JPS 7\.1 archive; this reader "
                                           r"handles JPS 1\.x and 2\.0$"):
        open_archive(archive, "x")
