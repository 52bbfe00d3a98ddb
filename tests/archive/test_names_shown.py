"""Entry names are the archive maker's: a terminal must never obey escape codes in them."""

from __future__ import annotations

import subprocess

import pytest

from restorer.extract.textsafe import shown_name
from restorer.formats.base import EntryType
from tests.archive.test_extract import craft_jpa

HOSTILE = "\x1b]0;owned\x07title\x1b[2Jclear\x9bc1\x7fdel-café.txt"


@pytest.mark.proof("security", "entry names carry terminal escape codes (retitle, clear screen, C1, "
                               "DEL) to rewrite what sitepack ls and extract show")
def test_ls_and_extract_show_control_characters_escaped(tmp_path, proof):
    archive = craft_jpa(tmp_path / "names.jpa", [
        (HOSTILE, EntryType.FILE, 0o100644, b"x"),
        ("link", EntryType.SYMLINK, 0o120777, b"\x1b[2J"),
        ("bad/\x1b[2J/../x", EntryType.FILE, 0o100644, b"x")])
    listing = subprocess.run(["sitepack", "ls", str(archive)], capture_output=True, text=True)
    extracted = subprocess.run(["sitepack", "extract", str(archive), str(tmp_path / "out")],
                               capture_output=True, text=True)
    for output in (listing.stdout, listing.stderr, extracted.stdout, extracted.stderr):
        proof.cases += 1
        assert not any(ch in output for ch in "\x1b\x07\x9b\x7f"), repr(output)
    assert "\\x1b]0;owned\\x07title\\x1b[2Jclear\\x9bc1\\x7fdel-café.txt" in listing.stdout
    assert "link -> \\x1b[2J" in listing.stdout
    assert extracted.returncode != 0 and "\\x1b[2J" in extracted.stderr


def test_printable_unicode_and_backslashes_stay_as_they_are():
    assert shown_name("café/日本/a\\b") == "café/日本/a\\b"
