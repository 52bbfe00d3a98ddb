"""Archives as Akeeba Backup's own writers make them, quirks included, and the damage
they must survive (found by running Akeeba's archiver engine under PHP against these
readers; docs/AKEEBA-COMPAT.md). The archives come from ``akeeba_like.py``."""

from __future__ import annotations

import os
import time
import zipfile

import pytest

from packer.archive import open_writer
from restorer.errors import ArchiveError, MissingPartError
from restorer.extract.extractor import extract
from restorer.extract.verify import verify
from restorer.formats import open_archive
from restorer.formats.base import EntryType
from tests.archive.akeeba_like import jpa_archive, jps_archive, split_zip
from tests.archive.treeutil import noise

FILE, LINK, DIR = 1, 2, 0
MTIME = 1_600_000_000


def _links_as_akeeba_stores_them(kind_of_dir_link: str):
    """A folder with a file, a link to each: Akeeba stores a link's mode as the mode of
    its target (file 0644, folder 0755) and names a link to a folder ``name/``."""
    return [
        ("sub/a.txt", FILE, b"hello", 0o100644, MTIME),
        ("link_to_file", LINK, b"sub/a.txt", 0o100644, 0),
        (kind_of_dir_link, LINK, b"sub", 0o40755, 0),
    ]


def _check_links(out):
    assert os.readlink(out / "link_to_file") == "sub/a.txt"
    assert os.readlink(out / "link_to_dir") == "sub"
    assert (out / "link_to_dir" / "a.txt").read_bytes() == b"hello"


def test_jpa_links_stored_with_their_targets_mode_come_back_as_links(tmp_path):
    entries = [(name, kind, data, mode, mtime or None)
               for name, kind, data, mode, mtime in _links_as_akeeba_stores_them("link_to_dir/")]
    archive = tmp_path / "site.jpa"
    archive.write_bytes(jpa_archive(entries))
    with open_archive(archive) as reader:
        listed = {entry.path: (entry.type, entry.mode) for entry, _ in reader.entries()}
    assert listed["link_to_file"] == (EntryType.SYMLINK, 0o120644)
    assert listed["link_to_dir"] == (EntryType.SYMLINK, 0o120755)
    extract(archive, tmp_path / "out")
    _check_links(tmp_path / "out")


def test_jps_links_and_folders_as_akeeba_stores_them(tmp_path):
    """Akeeba's JPS writer also stores 0 as the mtime of folders and links: without a
    sitepack manifest that means "no time", not 1 January 1970."""
    entries = _links_as_akeeba_stores_them("link_to_dir/") + [("empty/", DIR, b"", 0o40755, 0)]
    archive = tmp_path / "site.jps"
    archive.write_bytes(jps_archive(entries, "pw", "2.0-per-block-salt"))
    before = time.time() - 5
    extract(archive, tmp_path / "out", password="pw")
    out = tmp_path / "out"
    _check_links(out)
    assert os.lstat(out / "link_to_dir").st_mtime > before
    assert os.stat(out / "empty").st_mtime > before
    assert os.stat(out / "sub" / "a.txt").st_mtime == MTIME


def test_our_own_archives_keep_an_mtime_of_zero(tmp_path):
    """With a manifest (every sitepack archive) 0 is a real time and is restored."""
    archive = tmp_path / "zero.jps"
    with open_writer("jps2", archive, password="pw") as writer:
        writer.add_dir("empty", 0o40755, 0)
        writer.add_symlink("link", "empty", mtime=0)
    extract(archive, tmp_path / "out", password="pw")
    assert os.stat(tmp_path / "out" / "empty").st_mtime == 0
    assert os.lstat(tmp_path / "out" / "link").st_mtime == 0


def _zip_entries(count: int):
    return [(f"many/d{i % 25}/file{i:04d}.php", noise(50 + (i * 7919) % 3000, i))
            for i in range(count)]


def test_split_zip_with_akeebas_recorded_offsets(tmp_path):
    """Headers that opened a part are recorded at (previous part, 4) and the entries
    after them in that part 4 bytes late; every entry is still found by its name."""
    entries = _zip_entries(300)
    parts = split_zip(tmp_path / "site.zip", entries, 20_000)
    with zipfile.ZipFile(tmp_path / "site.zip") as z:  # the quirk is really there:
        late = [info for info in z.infolist() if info.header_offset == 4 and info.volume > 0]
    assert len(parts) > 10 and late
    with open_archive(parts[-1]) as reader:
        got = [(entry.path, b"".join(chunks)) for entry, chunks in reader.entries()]
    assert got == entries
    assert verify(parts[-1]).ok
    extract(parts[-1], tmp_path / "out")
    name, data = entries[-1]
    assert (tmp_path / "out" / name).read_bytes() == data


def test_split_zip_whose_central_directory_moved_to_a_new_part(tmp_path):
    """A directory over 64 KiB that does not fit its part opens the last part, while the
    end record still gives the old part's size as its offset."""
    entries = _zip_entries(1500)
    parts = split_zip(tmp_path / "site.zip", entries, 65_536)
    assert parts[-1].read_bytes()[:4] == b"PK\x01\x02"  # the quirk is really there
    with open_archive(parts[-1]) as reader:
        assert [entry.path for entry, _ in reader.entries()] == [name for name, _ in entries]
    extract(parts[-1], tmp_path / "out")
    name, data = entries[700]
    assert (tmp_path / "out" / name).read_bytes() == data


def _split_jpa_with_a_cut_middle_part(tmp_path):
    """Akeeba's JPA has no checksums: stored data that ran through a cut part into the
    next one would be written as a whole, wrong file."""
    archive = tmp_path / "s.jpa"
    with open_writer("jpa", archive, part_size=65536, manifest=False) as writer:
        writer.add_bytes("first.txt", b"first\n", mtime=MTIME)
        writer.add_bytes("spans.bin", noise(300_000), mtime=MTIME)  # stored: incompressible
        writer.add_bytes("after.txt", b"after\n", mtime=MTIME)
    os.truncate(tmp_path / "s.j02", 40_000)
    return archive


def test_data_running_out_of_a_cut_middle_part_is_refused_by_name(tmp_path):
    archive = _split_jpa_with_a_cut_middle_part(tmp_path)
    with pytest.raises(MissingPartError) as caught:
        extract(archive, tmp_path / "out")
    assert str(caught.value) == (
        "the archive is damaged: the data of 'spans.bin' runs from s.j02 into s.j03, but part "
        "s.j02 is 40000 bytes, shorter than the others (65536): it may be truncated, copy it "
        "again")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["first.txt"]


def test_listing_a_jps_with_a_cut_middle_part_names_it(tmp_path):
    archive = tmp_path / "s.jps"
    with open_writer("jps2", archive, password="pw", part_size=65536) as writer:
        for i in range(6):
            writer.add_bytes(f"f{i}.bin", noise(40_000, i), mtime=MTIME)
    os.truncate(tmp_path / "s.j02", 30_000)
    with pytest.raises(ArchiveError, match=r"part s\.j02 is 30000 bytes, shorter than the "
                                           r"others \(65536\): it may be truncated"):
        with open_archive(archive, "pw") as reader:
            for _ in reader.entries():  # listing: the data is skipped, not read
                pass


@pytest.mark.parametrize("cut", [1, 10, 21])
def test_zip_cut_inside_its_end_record(tmp_path, cut):
    archive = tmp_path / "cut.zip"
    with open_writer("zip", archive) as writer:
        writer.add_bytes("a.txt", b"a", mtime=MTIME)
    os.truncate(archive, archive.stat().st_size - cut)
    with pytest.raises(ArchiveError, match=r"^cut\.zip has no ZIP end record: it is truncated"):
        open_archive(archive)


def test_a_failed_extraction_puts_server_files_back(tmp_path):
    """``.htaccess`` is written as ``.htaccess.bak`` while a site bundle is extracted;
    when the extraction fails it gets its name back, as after a finished one."""
    with open_writer("jpa", tmp_path / "bundle.jpa", manifest=False, part_size=65536) as writer:
        writer.add_bytes(".htaccess", b"Deny from all\n", mtime=MTIME)
        writer.add_bytes("spans.bin", noise(300_000), mtime=MTIME)
    os.truncate(tmp_path / "bundle.j02", 40_000)
    with pytest.raises(MissingPartError):
        extract(tmp_path / "bundle.jpa", tmp_path / "out", server_files_as_bak="auto")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".htaccess"]
