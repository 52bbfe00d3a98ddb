"""``restorer.extract.verify``: a damaged archive is never reported as good."""

from __future__ import annotations

import hashlib
import io
import json
import os

import pytest

from packer.archive import base as archive_base
from packer.archive import open_writer
from restorer.errors import ArchiveError, MissingPartError
from restorer.extract.manifest import compress_manifest, manifest_header, manifest_line, manifest_trailer
from restorer.extract.verify import verify
from restorer.formats.base import MANIFEST_PATH, MANIFEST_PATH_V1, Entry, EntryType
from tests.archive.treeutil import SUFFIX, noise, password_for


def sample(path, fmt="jpa", **options):
    with open_writer(fmt, path, password=password_for(fmt), **options) as writer:
        writer.add_dir("docs", 0o40755, 10)
        writer.add_bytes("docs/a.php", b"<?php echo 'a';\n" * 200, mtime=11)
        writer.add_bytes("stored.bin", noise(1_100_000), mtime=12)
        writer.add_symlink("link", "docs/a.php", mtime=13)
    return path


def verifies(path) -> bool:
    """True only when verify reports the archive intact (an error opening it is a no)."""
    try:
        return verify(path).ok
    except ArchiveError:
        return False


def manifest_text(entries, *, trailer_ok=True):
    body = manifest_header("jpa", 1)
    for entry, data in entries:
        body += manifest_line(entry, None if entry.is_dir else hashlib.sha256(data).hexdigest())
    digest = hashlib.sha256(body).hexdigest() if trailer_ok else "0" * 64
    return body + manifest_trailer(len(entries), digest)


def gzipped(text: bytes) -> bytes:
    packed = io.BytesIO()
    compress_manifest(io.BytesIO(text), packed)
    return packed.getvalue()


def manifest_for(entries, *, trailer_ok=True):
    return gzipped(manifest_text(entries, trailer_ok=trailer_ok))


@pytest.mark.parametrize("fmt", ["jpa", "zip", "jps", "jps2"])
def test_intact_archives_verify_against_their_manifest(tmp_path, fmt):
    report = verify(sample(tmp_path / f"a{SUFFIX[fmt]}", fmt, part_size=65536),
                    password=password_for(fmt))
    assert report.ok and report.has_manifest and report.entries == 5
    assert report.what_was_checked() == ("every byte of every entry was checked against the "
                                         "archive's manifest (SHA-256, sizes, modes, times)")


def test_a_changed_stored_byte_is_found(tmp_path):
    path = sample(tmp_path / "a.jpa")
    raw = bytearray(path.read_bytes())
    raw[raw.index(noise(1_100_000)[:64]) + 1000] ^= 1
    path.write_bytes(bytes(raw))
    report = verify(path)
    assert not report.ok
    assert report.problems == ["stored.bin: content differs from the manifest (SHA-256 mismatch)"]


# The archive's creation time is in its manifest, which is deflated: each time gives other
# deflate bytes, whose flips inflate to other damage (1796618486 once gave '"mode":3e688').
@pytest.mark.parametrize("created", [1796618486, 1_700_000_000, 1_800_000_123])
def test_every_single_byte_flip_in_a_small_jpa_is_caught(tmp_path, monkeypatch, created):
    monkeypatch.setattr(archive_base.time, "time", lambda: created + 0.5)
    path = tmp_path / "s.jpa"
    with open_writer("jpa", path) as writer:
        writer.add_bytes("a.txt", b"hello world, hello jpa\n" * 3, mtime=1)
        writer.add_dir("d", 0o40700, 2)
    original = path.read_bytes()
    # counters in the standard header (bytes 7..18) are informational, like Akeeba's
    for offset in [3, 4, 5, 6] + list(range(19, len(original))):
        damaged = bytearray(original)
        damaged[offset] ^= 0x41
        path.write_bytes(bytes(damaged))
        assert not verifies(path), f"flip at offset {offset} not detected"


def test_truncation_at_an_entry_boundary_is_found(tmp_path):
    path = tmp_path / "t.jpa"
    with open_writer("jpa", path) as writer:
        writer.add_bytes("a.txt", b"a", mtime=1)
        writer.add_bytes("b.txt", b"b", mtime=1)
    raw = path.read_bytes()
    path.write_bytes(raw[:raw.index(b"JPF", raw.index(b"b.txt") - 10)])
    report = verify(path)
    assert report.problems == ["the archive is damaged: its header counts 3 entries but 1 were "
                               "found (it was cut short or a part is missing or short)"]


def test_entries_missing_from_or_absent_in_the_manifest(tmp_path):
    a = Entry("a.txt", EntryType.FILE, 1, 0o100644, 1)
    ghost = Entry("ghost.txt", EntryType.FILE, 1, 0o100644, 1)
    path = tmp_path / "m.zip"    # ZIP: no header record announcing the manifest
    with open_writer("zip", path, manifest=False) as writer:
        writer.add_bytes("a.txt", b"a", mtime=1)
        writer.add_bytes("extra.txt", b"x", mtime=1)
        writer.add_bytes(MANIFEST_PATH, manifest_for([(a, b"a"), (ghost, b"g")]), mtime=1)
    report = verify(path)
    assert report.problems == ["ghost.txt: listed in the manifest but missing from the archive",
                               "extra.txt: in the archive but not listed in the manifest"]


def test_a_damaged_manifest_is_reported_as_such(tmp_path):
    a = Entry("a.txt", EntryType.FILE, 1, 0o100644, 1)
    path = tmp_path / "m.zip"    # ZIP: no header record announcing the manifest
    with open_writer("zip", path, manifest=False) as writer:
        writer.add_bytes("a.txt", b"a", mtime=1)
        writer.add_bytes(MANIFEST_PATH, manifest_for([(a, b"a")], trailer_ok=False), mtime=1)
    assert verify(path).problems == ["the manifest is damaged (its own checksum does not "
                                     "match); the archive cannot be trusted"]
    with open_writer("zip", path, manifest=False) as writer:
        writer.add_bytes("a.txt", b"a", mtime=1)
        writer.add_bytes(MANIFEST_PATH, gzipped(manifest_text([(a, b"a")]).rsplit(b"\n", 2)[0] + b"\n"), mtime=1)
    assert verify(path).problems == ["the manifest is damaged (its end line is missing: it was "
                                     "cut short); the archive cannot be trusted"]


def test_a_changed_mode_or_time_in_a_header_is_found(tmp_path):
    path = tmp_path / "h.jpa"
    with open_writer("jpa", path) as writer:
        writer.add_bytes("a.txt", b"abc", mode=0o100644, mtime=1_600_000_000)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"a.txt") + 5 + 10           # the u32 mode after type, method, sizes
    raw[at:at + 4] = (0o100777).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    assert verify(path).problems == ["a.txt: mode 100777 but the manifest says 100644"]


def test_a_jpa_whose_manifest_lost_its_name_is_damaged(tmp_path):
    path = sample(tmp_path / "n.jpa")
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"sitepack-manifest.tsv.gz", b"sitepack-manifest.tsv.gX"))
    assert verify(path).problems == ["the archive is damaged: its header says it carries a "
                                     "manifest (installation/sitepack-manifest.tsv.gz) but there is none"]


def test_archives_without_manifest_say_what_was_checked(tmp_path):
    path = sample(tmp_path / "akeeba-like.jpa", manifest=False)
    report = verify(path)
    assert report.ok and not report.has_manifest
    assert report.what_was_checked() == (
        "this archive has no sitepack manifest, so there were no checksums to compare; "
        "verified the structure only: headers, decompression and sizes")
    zipped = sample(tmp_path / "plain.zip", "zip", manifest=False)
    assert verify(zipped).what_was_checked().endswith("and CRC-32 of every file")


def test_missing_part_fails_verification_with_its_name(tmp_path):
    path = sample(tmp_path / "p.jpa", part_size=65536)
    os.unlink(tmp_path / "p.j02")
    with pytest.raises(MissingPartError, match=r"^part p\.j02 of this archive is missing"):
        verify(path)


@pytest.mark.parametrize("fmt", ["jpa", "zip"])
def test_a_short_middle_part_is_named(tmp_path, fmt):
    path = tmp_path / f"s{SUFFIX[fmt]}"
    with open_writer(fmt, path, part_size=65536) as writer:
        for i in range(40):
            writer.add_bytes(f"f{i}", noise(5000, i), mtime=1)
    os.truncate(tmp_path / f"s.{fmt[0]}02", 60000)
    [problem] = verify(path).problems
    assert problem.startswith("the archive is damaged: ")
    assert f"part s.{fmt[0]}02 is 60000 bytes, shorter than the others (65536): it may be truncated" in problem


def manifest_v1_for(entries) -> bytes:
    """A manifest of version 1 (JSON lines), as sitepack wrote them before version 2."""
    lines = [{"sitepack_manifest": 1, "format": "zip", "created": 1}]
    lines += [{"path": entry.path, "type": "file", "size": entry.size, "mode": entry.mode,
               "mtime": entry.mtime, "sha256": hashlib.sha256(data).hexdigest()}
              for entry, data in entries]
    body = b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)
    end = {"end": True, "entries": len(entries), "sha256": hashlib.sha256(body).hexdigest()}
    return body + json.dumps(end, separators=(",", ":")).encode() + b"\n"


@pytest.mark.parametrize("version,field,value", [
    (1, "size", b"1e999"), (1, "mode", b"33188.5"), (1, "mtime", b"true"), (1, "size", b'"1"'),
    (2, "size", b"1e9"), (2, "size", b"+1"), (2, "size", b" 1"), (2, "size", b"1_0"),
    (2, "mode", b"100648"), (2, "mtime", b"-1")])
def test_a_manifest_number_that_is_not_an_integer_is_damage(tmp_path, version, field, value):
    """Deflate data that a flipped byte changed may still inflate (JPA has no checksums):
    a digit turned into ``e`` must read as a damaged manifest, not crash verify."""
    a = Entry("a.txt", EntryType.FILE, 1, 0o100644, 1)
    if version == 1:
        number = {"size": b"1", "mode": b"33188", "mtime": b"1"}[field]
        body = manifest_v1_for([(a, b"a")]).replace(
            b'"%s":%s' % (field.encode(), number), b'"%s":%s' % (field.encode(), value), 1)
        name = MANIFEST_PATH_V1
    else:
        before = {"size": b"f\t1\t", "mode": b"f\t1\t100644\t", "mtime": b"f\t1\t100644\t1\t"}[field]
        text = manifest_text([(a, b"a")])
        changed = before[:before.rindex(b"\t", 0, -1) + 1] + value + b"\t"
        assert before in text
        body, name = gzipped(text.replace(before, changed, 1)), MANIFEST_PATH
    path = tmp_path / "m.zip"    # ZIP: no header record announcing the manifest
    with open_writer("zip", path, manifest=False) as writer:
        writer.add_bytes("a.txt", b"a", mtime=1)
        writer.add_bytes(name, body, mtime=1)
    assert verify(path).problems == ["the manifest is damaged (a line lacks a field or holds one "
                                     "of the wrong type); the archive cannot be trusted"]
