"""ZIP: what we write is accepted by unzip and zipfile; we read what they write."""

from __future__ import annotations

import os
import stat
import subprocess
import zipfile

import pytest

from packer.archive import open_writer
from restorer.errors import ArchiveError
from restorer.extract.manifest import GZIP_HEADER
from restorer.extract.extractor import extract
from restorer.extract.verify import verify
from restorer.formats import open_archive
from restorer.formats.base import EntryType
from tests.archive.treeutil import noise


def read_all(path):
    with open_archive(path) as reader:
        return {entry.path: (entry, b"".join(chunks)) for entry, chunks in reader.entries()}


def write_sample(path, **options):
    with open_writer("zip", path, **options) as writer:
        writer.add_dir("docs", 0o40750, 1_600_000_000)
        writer.add_bytes("docs/ünïcode €.php", b"<?php echo 'hi';\n" * 300, mode=0o100640,
                         mtime=1_600_000_001)
        writer.add_bytes("random.bin", noise(2_500_000), mtime=1_600_000_002)
        writer.add_bytes("text.sql", b"INSERT INTO t VALUES (1,'abc');\n" * 80_000, mtime=1_600_000_003)
        writer.add_symlink("docs/link", "ünïcode €.php", mtime=1_600_000_004)
        writer.add_dir("empty", 0o40700, 1_600_000_005)
        for i in range(30):
            writer.add_bytes(f"small/{i}.txt", noise(7000, i), mtime=1_600_000_100 + i)
    return path


def test_unzip_and_zipfile_accept_our_zip(tmp_path):
    archive = write_sample(tmp_path / "site.zip")
    result = subprocess.run(["unzip", "-tq", archive], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(archive) as z:
        assert z.testzip() is None
        info = z.getinfo("docs/ünïcode €.php")
        assert info.flag_bits & 0x0800
        assert z.read(info) == b"<?php echo 'hi';\n" * 300
        assert info.external_attr >> 16 == 0o100640
        link = z.getinfo("docs/link")
        assert link.external_attr >> 16 == 0o120777
        assert z.read(link) == "ünïcode €.php".encode()
        assert z.getinfo("empty/").is_dir()
        assert z.read("text.sql") == b"INSERT INTO t VALUES (1,'abc');\n" * 80_000
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert z.read("installation/sitepack-manifest.tsv.gz").startswith(GZIP_HEADER)


def test_what_akeebas_extractor_needs_large_files_stored_and_symlinks_marked(tmp_path):
    """Akeeba's extractor reads a deflated entry whole into PHP's memory (a large one fails
    under a 128 MiB memory_limit) and makes a link only for entries whose local header
    says "version needed" 0a 03. So files of 1 MiB and more are stored, as Akeeba's
    writer does, and symlinks carry 0a 03 in both headers, other entries 14 00."""
    archive = write_sample(tmp_path / "site.zip")
    raw = archive.read_bytes()
    with zipfile.ZipFile(archive) as z:
        infos = {info.filename: info for info in z.infolist()}
    for name in ("random.bin", "text.sql"):  # 2.5 MB of noise and 2.6 MB of SQL text
        assert infos[name].file_size >= 1024 * 1024
        assert infos[name].compress_type == zipfile.ZIP_STORED
    assert infos["small/0.txt"].compress_type == zipfile.ZIP_STORED  # noise: deflate loses
    assert infos["docs/ünïcode €.php"].compress_type == zipfile.ZIP_DEFLATED
    for name, info in infos.items():
        local_version = raw[info.header_offset + 4:info.header_offset + 6]
        expected = b"\x0a\x03" if name == "docs/link" else b"\x14\x00"
        assert local_version == expected, name
        assert (info.extract_version, info.reserved) == (tuple(expected)), name


def test_unzip_restores_symlinks_and_modes(tmp_path):
    archive = write_sample(tmp_path / "site.zip")
    subprocess.run(["unzip", "-q", archive, "-d", tmp_path / "out"], check=True)
    assert os.readlink(tmp_path / "out/docs/link") == "ünïcode €.php"
    assert stat.S_IMODE(os.stat(tmp_path / "out/docs/ünïcode €.php").st_mode) == 0o640
    assert int(os.stat(tmp_path / "out/text.sql").st_mtime) == 1_600_000_003


def test_split_zip_layout_and_join(tmp_path):
    with open_writer("zip", tmp_path / "s.zip", part_size=65536) as writer:
        for i in range(40):
            writer.add_bytes(f"r{i}.bin", noise(20_000, i), mtime=1_600_000_000 + i)
        writer.add_symlink("l", "r1.bin", mtime=5)
    parts = sorted(tmp_path.glob("s.z[0-9]*")) + [tmp_path / "s.zip"]
    assert [p.name for p in parts[:3]] == ["s.z01", "s.z02", "s.z03"]
    assert parts[0].read_bytes()[:4] == b"PK\x07\x08"
    assert all(p.stat().st_size == 65536 for p in parts[:-1])
    # Info-ZIP cannot read split archives directly; `zip -s 0` joins them. (It mis-copies
    # entries whose data spans more than two parts, even in its own split archives, so
    # this sample keeps every entry within two parts.)
    subprocess.run(["zip", "-q", "-s", "0", tmp_path / "s.zip", "--out", tmp_path / "joined.zip"],
                   check=True)
    result = subprocess.run(["unzip", "-tq", tmp_path / "joined.zip"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    with zipfile.ZipFile(tmp_path / "joined.zip") as z:
        assert z.testzip() is None
        assert z.read("r7.bin") == noise(20_000, 7)
    assert verify(tmp_path / "s.zip").ok


def test_we_read_info_zip_archives_with_symlinks_and_splits(tmp_path):
    src = tmp_path / "src"
    (src / "sub" / "empty").mkdir(parents=True)
    (src / "sub" / "a.txt").write_bytes(b"alpha\n" * 1000)
    (src / "big.bin").write_bytes(noise(300_000))
    os.chmod(src / "sub" / "a.txt", 0o600)
    os.utime(src / "sub" / "a.txt", (1_500_000_000, 1_500_000_000))
    os.symlink("sub/a.txt", src / "link")
    subprocess.run(["zip", "-q", "-r", "-y", tmp_path / "z.zip", "."], cwd=src, check=True)
    subprocess.run(["zip", "-q", "-r", "-y", "-s", "64k", tmp_path / "zs.zip", "."], cwd=src, check=True)
    for name in ("z.zip", "zs.zip"):
        entries = read_all(tmp_path / name)
        entry, data = entries["sub/a.txt"]
        assert data == b"alpha\n" * 1000 and entry.mode == 0o100600 and entry.mtime == 1_500_000_000
        assert entries["link"][0].type is EntryType.SYMLINK and entries["link"][0].target == "sub/a.txt"
        assert entries["sub/empty"][0].type is EntryType.DIR
        assert entries["big.bin"][1] == noise(300_000)
    report = verify(tmp_path / "zs.zip")
    assert report.ok and not report.has_manifest
    assert "no sitepack manifest" in report.what_was_checked()
    extract(tmp_path / "zs.zip", tmp_path / "out")
    assert (tmp_path / "out/big.bin").read_bytes() == noise(300_000)


def test_we_read_python_zipfile_archives_with_zip64(tmp_path):
    with zipfile.ZipFile(tmp_path / "p.zip", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("forced64.txt", "w", force_zip64=True) as handle:
            handle.write(b"sixty-four\n" * 5000)
        z.writestr("plain.txt", "plain")
        z.writestr(zipfile.ZipInfo("dir/"), "")
    entries = read_all(tmp_path / "p.zip")
    assert entries["forced64.txt"][1] == b"sixty-four\n" * 5000
    assert entries["plain.txt"][1] == b"plain"
    assert entries["dir"][0].type is EntryType.DIR


def test_zip64_end_records_when_entries_exceed_65535(tmp_path):
    count = 65_600
    with open_writer("zip", tmp_path / "many.zip", manifest=False) as writer:
        for i in range(count):
            writer.add_bytes(f"{i % 100}/{i}", b"", mtime=1_600_000_000)
    raw = (tmp_path / "many.zip").read_bytes()
    assert b"PK\x06\x06" in raw[-200:] and b"PK\x06\x07" in raw[-200:]
    with zipfile.ZipFile(tmp_path / "many.zip") as z:
        assert len(z.infolist()) == count
    assert subprocess.run(["unzip", "-tq", tmp_path / "many.zip"], capture_output=True).returncode == 0
    with open_archive(tmp_path / "many.zip") as reader:
        assert sum(1 for _ in reader.entries()) == count


def test_zip64_local_header_of_a_large_stream_is_patched_right(tmp_path, monkeypatch):
    """Files of 4 GiB and more get a ZIP64 extra up front and their CRC patched after the
    data; the threshold is lowered here so that a 1.5 MB file takes the path of a 5 GB one."""
    import packer.archive.zip as zip_writer

    monkeypatch.setattr(zip_writer, "ZIP64_LOCAL_THRESHOLD", 1024 * 1024)
    data = noise(700_000) + b"compressible " * 70_000
    path = tmp_path / "z64.zip"
    with open_writer("zip", path) as writer:
        writer.add_bytes("big.bin", data, mtime=1_600_000_000)
        writer.add_bytes("after.txt", b"after", mtime=1_600_000_001)
    assert subprocess.run(["unzip", "-tq", path], capture_output=True).returncode == 0
    with zipfile.ZipFile(path) as z:
        assert z.read("big.bin") == data
        assert z.getinfo("big.bin").extra.find(b"\x01\x00\x10\x00") >= 0
    assert read_all(path)["big.bin"][1] == data
    assert verify(path).ok


def test_an_end_record_naming_a_part_that_does_not_exist_is_one_clear_error(tmp_path):
    path = tmp_path / "d.zip"
    with open_writer("zip", path) as writer:
        writer.add_bytes("a.txt", b"abc", mtime=1)
    raw = bytearray(path.read_bytes())
    end = raw.rindex(b"PK\x05\x06")
    raw[end + 6:end + 8] = (65).to_bytes(2, "little")   # the disk holding the central directory
    path.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match=r"^d\.zip: the ZIP central directory lies outside the "
                                           r"archive; it is damaged or parts are missing$"):
        open_archive(path)
