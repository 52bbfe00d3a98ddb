"""Safe extraction: every bad entry is refused by name, nothing lands outside the target,
no partial file is left looking complete."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import pytest

from packer.archive import open_writer
from restorer.errors import ArchiveError, MissingPartError, UnsafeEntryError
from restorer.extract.extractor import extract
from restorer.formats.base import EntryType
from restorer.formats.jpa import STANDARD_HEADER
from tests.archive.akeeba_like import jpa_archive
from tests.archive.treeutil import noise


def craft_jpa(path, entries):
    """A JPA with exactly these (path, type, mode, data) entries, unchecked."""
    path.write_bytes(jpa_archive([(name + "/" if kind is EntryType.DIR else name, int(kind), data,
                                   mode, 1_600_000_000) for name, kind, mode, data in entries]))
    return path


FILE = EntryType.FILE
LINK = EntryType.SYMLINK
DIR = EntryType.DIR


@pytest.fixture
def target(tmp_path):
    (tmp_path / "outside").mkdir()
    return tmp_path / "site"


def assert_nothing_outside(tmp_path):
    assert list((tmp_path / "outside").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) in (["bad.jpa", "outside"],
                                                          ["bad.jpa", "outside", "site"])


@pytest.mark.parametrize("name, message", [
    ("../outside/evil.php", "refusing entry '../outside/evil.php': it contains '..' (it would write outside the target folder)"),
    ("a/../../outside/x", "refusing entry 'a/../../outside/x': it contains '..' (it would write outside the target folder)"),
    ("/tmp/evil", "refusing entry '/tmp/evil': it has an absolute path"),
    ("C:/Windows/evil.dll", "refusing entry 'C:/Windows/evil.dll': it starts with a drive letter"),
    ("..\\outside\\evil", "refusing entry '..\\\\outside\\\\evil': its name contains a backslash"),
    ("a\x00.php", "refusing entry 'a\\x00.php': its name contains a NUL byte"),
    ("a/./b", "refusing entry 'a/./b': it contains an empty or '.' component"),
])
def test_bad_paths_are_refused_by_name(tmp_path, target, name, message):
    archive = craft_jpa(tmp_path / "bad.jpa", [("ok.txt", FILE, 0o100644, b"fine"),
                                               (name, FILE, 0o100644, b"evil")])
    with pytest.raises(UnsafeEntryError) as caught:
        extract(archive, target)
    assert str(caught.value) == message
    assert_nothing_outside(tmp_path)


@pytest.mark.parametrize("entries, message", [
    ([("l", LINK, 0o120777, b"../outside")],
     "refusing symlink 'l': it points to '../outside', outside the target folder"),
    ([("d/l", LINK, 0o120777, b"../../outside/x")],
     "refusing symlink 'd/l': it points to '../../outside/x', outside the target folder"),
    ([("l", LINK, 0o120777, b"/etc/passwd")],
     "refusing symlink 'l': it points to '/etc/passwd', outside the target folder"),
    ([("a", LINK, 0o120777, b"."), ("b", LINK, 0o120777, b"a/a/../outside")],
     "refusing symlink 'b': it points to 'a/a/../outside', outside the target folder"),
    ([("d", LINK, 0o120777, b"../outside"[3:]), ("d/x.php", FILE, 0o100644, b"evil")],
     "refusing entry 'd/x.php': 'd' is a symlink in this archive, and nothing is written through a symlink"),
])
def test_symlinks_leading_outside_are_refused(tmp_path, target, entries, message):
    archive = craft_jpa(tmp_path / "bad.jpa", entries)
    with pytest.raises(UnsafeEntryError) as caught:
        extract(archive, target)
    assert str(caught.value) == message
    assert_nothing_outside(tmp_path)


@pytest.mark.parametrize("mode, what", [
    (0o020644, "a character device"), (0o060644, "a block device"),
    (0o010644, "a fifo"), (0o140644, "a socket"),
])
def test_device_files_are_refused(tmp_path, target, mode, what):
    archive = craft_jpa(tmp_path / "bad.jpa", [("dev", FILE, mode, b"")])
    with pytest.raises(UnsafeEntryError) as caught:
        extract(archive, target)
    assert str(caught.value) == (f"refusing entry 'dev': it is {what} (mode {mode:o}); only "
                                 "files, directories and symlinks are extracted")


def test_device_modes_in_a_zip_are_refused(tmp_path, target):
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as z:
        info = zipfile.ZipInfo("fifo")
        info.create_system = 3
        info.external_attr = 0o010644 << 16
        z.writestr(info, b"")
    with pytest.raises(UnsafeEntryError, match=r"^refusing entry 'fifo': it is a fifo"):
        extract(tmp_path / "bad.zip", target)


@pytest.mark.parametrize("entries, message", [
    ([("a", FILE, 0o100644, b"1"), ("a", FILE, 0o100644, b"2")],
     "refusing entry 'a': the archive has this path more than once (conflicting entries)"),
    ([("a", FILE, 0o100644, b"1"), ("a", DIR, 0o40755, b"")],
     "refusing entry 'a': the archive has this path more than once (conflicting entries)"),
    ([("a", FILE, 0o100644, b"1"), ("a/b", FILE, 0o100644, b"2")],
     "refusing entry 'a/b': 'a' is a file in this archive, not a directory (conflicting entries)"),
])
def test_conflicting_duplicates_are_refused(tmp_path, target, entries, message):
    archive = craft_jpa(tmp_path / "bad.jpa", entries)
    with pytest.raises(UnsafeEntryError) as caught:
        extract(archive, target)
    assert str(caught.value) == message


def test_an_existing_symlink_in_the_target_is_not_followed(tmp_path, target):
    target.mkdir()
    os.symlink(tmp_path / "outside", target / "d")
    archive = craft_jpa(tmp_path / "bad.jpa", [("d/x.php", FILE, 0o100644, b"evil")])
    with pytest.raises(UnsafeEntryError) as caught:
        extract(archive, target)
    assert str(caught.value) == ("refusing to write into 'd': it already exists in the target "
                                 "folder and is a symlink")
    assert list((tmp_path / "outside").iterdir()) == []


def test_setuid_bits_are_dropped(tmp_path, target):
    archive = craft_jpa(tmp_path / "x.jpa", [("tool", FILE, 0o104755, b"#!/bin/sh\n")])
    extract(archive, target)
    assert stat.S_IMODE(os.stat(target / "tool").st_mode) == 0o755


def test_damaged_data_is_detected_and_the_file_removed(tmp_path, target):
    path = tmp_path / "site.jpa"
    with open_writer("jpa", path) as writer:
        writer.add_bytes("good.txt", b"good" * 100, mtime=1)
        writer.add_bytes("big.bin", noise(1_200_000), mtime=2)   # stored: no format checksum
    raw = bytearray(path.read_bytes())
    raw[raw.index(noise(1_200_000)[:64]) + 500_000] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError) as caught:
        extract(path, target)
    assert str(caught.value) == ("the archive is damaged: big.bin: content differs from the "
                                 "manifest (SHA-256 mismatch); the damaged files were removed, "
                                 "copy or download the archive again")
    assert not (target / "big.bin").exists()
    assert (target / "good.txt").read_bytes() == b"good" * 100


def test_truncated_archive_leaves_no_partial_file(tmp_path, target):
    path = tmp_path / "site.jpa"
    with open_writer("jpa", path, manifest=False) as writer:
        writer.add_bytes("first.txt", b"first", mtime=1)
        writer.add_bytes("big.bin", noise(3_000_000), mtime=2)
    os.truncate(path, path.stat().st_size - 1_000_000)
    with pytest.raises(MissingPartError) as caught:
        extract(path, target)
    assert str(caught.value).startswith("site.jpa ends early (in the data of 'big.bin' at offset")
    assert sorted(os.listdir(target)) == ["first.txt"]


def test_missing_part_is_named_before_anything_is_written(tmp_path, target):
    path = tmp_path / "site.zip"
    with open_writer("zip", path, part_size=65536) as writer:
        for i in range(10):
            writer.add_bytes(f"f{i}", noise(30_000, i), mtime=1)
    (tmp_path / "site.z03").unlink()
    with pytest.raises(MissingPartError) as caught:
        extract(path, target)
    assert str(caught.value) == ("part site.z03 of this archive is missing (later parts exist): "
                                 "copy every part into the same folder")
    assert not target.exists()


def test_unsupported_jpa_version(tmp_path, target):
    path = tmp_path / "new.jpa"
    path.write_bytes(STANDARD_HEADER.pack(b"JPA", 19, 2, 0, 0, 0, 0))
    with pytest.raises(ArchiveError) as caught:
        extract(path, target)
    assert str(caught.value) == ("new.jpa is JPA version 2.0, which sitepack cannot read (it "
                                 "reads 1.0 to 1.3): extract it with a newer tool")


def test_server_files_at_the_root_are_written_as_bak(tmp_path, target):
    path = tmp_path / "site.zip"
    with open_writer("zip", path) as writer:
        for name in (".htaccess", "web.config", ".user.ini", "php.ini", "sub/.htaccess", "index.php"):
            writer.add_bytes(name, name.encode(), mtime=1)
    report = extract(path, target, server_files_as_bak=True)
    assert sorted(report.renamed) == [".htaccess", ".user.ini", "php.ini", "web.config"]
    for name in (".htaccess", "web.config", ".user.ini", "php.ini"):
        assert not (target / name).exists()
        assert (target / f"{name}.bak").read_bytes() == name.encode()
    assert (target / "sub/.htaccess").read_bytes() == b"sub/.htaccess"
    assert report.manifest_checked


@pytest.mark.parametrize("bundle", [True, False], ids=["site-bundle", "plain-archive"])
def test_auto_renames_server_files_of_site_bundles_only(tmp_path, target, bundle):
    path = tmp_path / "site.jpa"
    with open_writer("jpa", path) as writer:
        writer.add_bytes(".htaccess", b"RewriteEngine On", mtime=1)
        writer.add_bytes("index.php", b"<?php", mtime=1)
        if bundle:
            writer.add_bytes("installation/sql/databases.json", b"{}", mtime=1)
    report = extract(path, target, server_files_as_bak="auto")
    listed = target / "installation/renamed-files.json"
    if bundle:
        assert report.renamed == [".htaccess"]
        assert not (target / ".htaccess").exists()
        assert (target / ".htaccess.bak").read_bytes() == b"RewriteEngine On"
        assert json.loads(listed.read_text()) == [".htaccess"]
    else:
        assert report.renamed == []
        assert (target / ".htaccess").read_bytes() == b"RewriteEngine On"
        assert not (target / ".htaccess.bak").exists() and not listed.exists()


def test_directory_modes_apply_after_their_contents(tmp_path, target):
    path = tmp_path / "ro.jpa"
    with open_writer("jpa", path) as writer:
        writer.add_dir("locked", 0o40555, 1_500_000_000)
        writer.add_bytes("locked/inside.txt", b"x", mode=0o100444, mtime=1_500_000_001)
    extract(path, target)
    assert stat.S_IMODE(os.stat(target / "locked").st_mode) == 0o555
    assert int(os.stat(target / "locked").st_mtime) == 1_500_000_000
    assert (target / "locked/inside.txt").read_bytes() == b"x"
