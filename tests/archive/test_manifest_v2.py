"""The manifest's version 2 (docs/FORMAT-MANIFEST.md): its bytes, its size against version
1, Akeeba's 1 MiB rule for its entry, and archives written with version 1 still read."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from packer.archive import open_writer
from restorer.extract.extractor import extract
from restorer.extract.manifest import GZIP_HEADER
from restorer.extract.verify import verify
from restorer.formats import open_archive
from restorer.formats.base import MANIFEST_PATH, MANIFEST_PATH_V1

FIXTURES = Path(__file__).parent / "fixtures"
#: The archives in FIXTURES were written by sitepack's writer before version 2 (commit
#: "tests: archives written by the current writer (manifest version 1 …)"), by
#: `sitepack pack` of this tree, the encrypted ones with this password.
FIXTURE_PASSWORD = "fixture-password"
FIXTURE_TREE = {
    "index.php": b'<?php echo "hello";\n',
    "images/logo.png": bytes(range(256)) * 40,
    "tab\tname.txt": b"tab name\n",
}
FIXTURE_MTIME = 1704164645    # 2024-01-02 03:04:05 UTC, every entry's time


def many_entries(writer, count: int) -> None:
    """``count`` folders with names as deep as a CMS's, and a few files."""
    for i in range(count):
        writer.add_dir(f"wp-content/plugins/plugin-{i % 150:03d}/assets/css/folder-{i:05d}",
                       0o40755, 1_700_000_000 + i)
    writer.add_bytes("a\tb.php", b"<?php echo 'tab';\n", mtime=1_700_000_001)
    writer.add_bytes("\"quoted.php", b"<?php echo 'quote';\n", mtime=1_700_000_002)
    writer.add_symlink("link.php", "a\tb.php", mtime=1_700_000_003)


def test_the_manifest_bytes_and_akeebas_1_mib_rule(tmp_path):
    """A manifest of 40k entries: a gzip stream (gzip's own reader takes it, header byte
    for byte as documented) of tab-separated lines; 8x smaller than version 1 would be;
    in ZIP every deflated entry, the manifest's included, is under 1 MiB, as Akeeba's
    extractor inflates one whole in PHP memory."""
    archive = tmp_path / "many.zip"
    with open_writer("zip", archive) as writer:
        many_entries(writer, 40_000)
        created = writer.created
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
        packed = z.read(MANIFEST_PATH)
    assert infos[-1].filename == MANIFEST_PATH
    for info in infos:
        assert info.compress_type == zipfile.ZIP_STORED or info.file_size < 1024 * 1024, info.filename
    assert packed[:10] == GZIP_HEADER == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    text = gzip.decompress(packed)
    lines = text.split(b"\n")
    assert lines[0] == b"sitepack-manifest\t2\tzip\t%d" % created
    assert lines[1] == (b"d\t0\t40755\t1700000000\t-\t"
                        b"wp-content/plugins/plugin-000/assets/css/folder-00000")
    sha = hashlib.sha256
    assert lines[40_001:40_004] == [
        b"f\t18\t100644\t1700000001\t%s\t\"a\\tb.php\"" % sha(b"<?php echo 'tab';\n").hexdigest().encode(),
        b"f\t20\t100644\t1700000002\t%s\t\"\\\"quoted.php\"" % sha(b"<?php echo 'quote';\n").hexdigest().encode(),
        b"l\t7\t120777\t1700000003\t%s\tlink.php" % sha(b"a\tb.php").hexdigest().encode()]
    body = b"\n".join(lines[:40_004]) + b"\n"
    assert lines[40_004:] == [b"end\t40003\t%s" % sha(body).hexdigest().encode(), b""]
    # Version 1 spelled each entry as a JSON object, stored raw once over 1 MiB.
    version_1 = sum(len(json.dumps({"path": f"wp-content/plugins/plugin-{i % 150:03d}/assets/css/"
                                            f"folder-{i:05d}", "type": "dir", "size": 0, "mode": 16877,
                                    "mtime": 1_700_000_000 + i, "sha256": None},
                                   separators=(",", ":"))) + 1 for i in range(40_000))
    assert len(packed) < 1024 * 1024 < version_1
    assert len(packed) * 8 < version_1
    assert verify(archive).ok


def test_a_manifest_over_1_mib_is_stored_and_kept_whole(tmp_path):
    """Once its gzip stream is 1 MiB or more the entry is stored (Akeeba's rule for every
    large file), and still verifies and extracts (read in pieces, never whole)."""
    archive = tmp_path / "huge.jpa"
    with open_writer("jpa", archive) as writer:
        for i in range(9_000):    # names of 250 random hex digits, which gzip cannot shrink much
            name = b"".join(hashlib.sha256(b"%d-%d" % (i, k)).digest() for k in range(4)).hex()[:250]
            writer.add_dir(name, 0o40755, 1)
    with open_archive(archive) as reader:
        entries = [(entry, b"".join(chunks)) for entry, chunks in reader.entries()]
    entry, packed = entries[-1]
    assert entry.path == MANIFEST_PATH and entry.size >= 1024 * 1024
    raw = archive.read_bytes()
    name_at = raw.rindex(MANIFEST_PATH.encode())
    assert raw[name_at - 7:name_at - 4] == b"JPF"
    assert raw[name_at + len(MANIFEST_PATH) + 1] == 0      # method byte: stored
    assert gzip.decompress(packed).count(b"\n") == 9_002
    report = extract(archive, tmp_path / "out", private_dir=tmp_path / "private")
    assert report.manifest_checked and report.entries == 9_001


@pytest.mark.parametrize("name", ["manifest-v1.jpa", "manifest-v1.zip", "manifest-v1.jps",
                                  "manifest-v1-jps2.jps"])
def test_archives_with_a_version_1_manifest_still_verify_and_extract(tmp_path, name):
    archive = FIXTURES / name
    password = FIXTURE_PASSWORD if name.endswith(".jps") else None
    with open_archive(archive, password) as reader:
        names = [entry.path for entry, _ in reader.entries()]
    assert names[-1] == MANIFEST_PATH_V1
    report = verify(archive, password=password)
    assert report.ok and report.has_manifest and report.entries == 7
    out = tmp_path / "out"
    extracted = extract(archive, out, password=password, private_dir=tmp_path / "private")
    assert extracted.manifest_checked
    for path, data in FIXTURE_TREE.items():
        assert (out / path).read_bytes() == data
        assert int(os.stat(out / path).st_mtime) == FIXTURE_MTIME
    assert os.readlink(out / "link.php") == "index.php"
    assert (out / "empty").is_dir()


def test_a_version_1_archive_with_a_changed_byte_is_still_caught(tmp_path):
    archive = tmp_path / "v1.jpa"
    raw = bytearray((FIXTURES / "manifest-v1.jpa").read_bytes())
    raw[raw.index(b"tab name\n")] ^= 0x20    # stored: "tab name" -> "Tab name"
    archive.write_bytes(bytes(raw))
    assert verify(archive).problems == [
        "tab\tname.txt: content differs from the manifest (SHA-256 mismatch)"]


@pytest.mark.skipif(shutil.which("zcat") is None, reason="needs gzip's zcat")
def test_an_extracted_manifest_reads_with_zcat(tmp_path):
    archive = tmp_path / "a.zip"
    with open_writer("zip", archive) as writer:
        writer.add_bytes("index.php", b"<?php\n", mtime=5)
    extract(archive, tmp_path / "out")
    shown = subprocess.run(["zcat", tmp_path / "out" / MANIFEST_PATH],
                           capture_output=True, check=True).stdout
    assert shown.split(b"\n")[1] == (b"f\t6\t100644\t5\t%s\tindex.php"
                                     % hashlib.sha256(b"<?php\n").hexdigest().encode())


def test_a_manifest_inflating_to_a_huge_line_is_refused_in_bounded_memory(tmp_path):
    """8 KiB of gzip that inflates to 8 MiB without a line break (a thousandfold, as a
    bigger one would inflate to gigabytes): damage, found once a line passes 1 MiB,
    never held whole."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    text = bytes(8 << 20)
    bomb = (GZIP_HEADER + packer.compress(text) + packer.flush()
            + struct.pack("<II", zlib.crc32(text), len(text)))
    assert len(bomb) < 10_000
    path = tmp_path / "bomb.zip"
    with open_writer("zip", path, manifest=False) as writer:
        writer.add_bytes(MANIFEST_PATH, bomb, mtime=1)
    assert verify(path).problems == ["the manifest is damaged (a line is too long); the archive "
                                     "cannot be trusted"]
