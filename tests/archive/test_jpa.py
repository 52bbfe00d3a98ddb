"""JPA: header bytes pinned from FORMATS.md §1, reading back what we write."""

import io
import random
import struct
import zlib

import pytest

from packer.archive import open_writer
from packer.archive.jpa import entity_header
from restorer.errors import ArchiveError, MissingPartError
from restorer.extract.verify import verify
from restorer.formats import open_archive
from restorer.formats.base import Entry, EntryType
from restorer.formats.jpa import JpaReader


def noise(n, seed=0):
    return random.Random(seed).randbytes(n)


def read_all(path, password=None):
    with open_archive(path, password) as reader:
        return [(entry, b"".join(chunks)) for entry, chunks in reader.entries()]


HEADER = 19 + 22   # the standard header and the room for the 64-bit totals


def test_standard_header_bytes_of_a_one_part_archive(tmp_path):
    with open_writer("jpa", tmp_path / "a.jpa", manifest=False) as writer:
        writer.add_bytes("x.txt", b"hello hello hello hello", mtime=1)
    raw = (tmp_path / "a.jpa").read_bytes()
    # JPA, header length 41, version 1.2, one entity, 23 bytes, compressed size
    magic, length, major, minor, count, size, compressed = struct.unpack_from("<3sHBBIII", raw)
    assert (magic, length, major, minor, count, size) == (b"JPA", HEADER, 1, 2, 1, 23)
    assert compressed == len(raw) - HEADER - (21 + 5 + 8)
    assert raw[:11] == bytes.fromhex("4a5041 2900 01 02 01000000".replace(" ", ""))
    # the room for JPA 1.3's totals, unused: a record every reader skips as unknown
    assert raw[19:HEADER] == b"JPSR" + (18).to_bytes(2, "little") + bytes(16)


def test_totals_beyond_32_bits_fill_the_reserved_room_with_the_jpa13_record(tmp_path):
    """The totals are known only at the end: the header written first has the room, the
    one rewritten at the end the 1.3 record (totals raised here as 4 GiB of files would)."""
    with open_writer("jpa", tmp_path / "big.jpa", part_size=65536) as writer:
        writer.add_bytes("a.txt", b"abc", mtime=1)
        writer.checkpoint()   # written out
        before = (tmp_path / "big.j01").read_bytes()[:HEADER + 8 + 6]   # the part being written
        writer.total_size += 5 * 1024 ** 3
        writer.total_compressed += 5 * 1024 ** 3
    raw = (tmp_path / "big.jpa").read_bytes()
    assert before[:3] == b"JPA" and before[19 + 8:HEADER + 8] == b"JPSR" + (18).to_bytes(2, "little") + bytes(16)
    magic, length, major, minor = struct.unpack_from("<3sHBB", raw)
    assert (magic, length, major, minor) == (b"JPA", HEADER + 8 + 6, 1, 3)
    assert raw[19:27] == bytes.fromhex("4a500101") + (4).to_bytes(2, "little") + (1).to_bytes(2, "little")
    signature, extra_length, total, total_compressed = struct.unpack_from("<4sHQQ", raw, 27)
    assert (signature, extra_length) == (b"JP\x01\x02", 18)
    assert total == 5 * 1024 ** 3 + 3 + len(read_all(tmp_path / "big.jpa")[-1][1])
    assert total_compressed > 5 * 1024 ** 3
    assert raw[HEADER + 8:HEADER + 8 + 6] == b"JPSM\0\0"   # last: Akeeba's reader stops 8 bytes short
    with open_archive(tmp_path / "big.jpa") as reader:
        assert reader.version == (1, 3) and reader.total_size == total
        assert reader.declares_manifest


def test_unknown_header_records_are_skipped_by_their_length(tmp_path):
    """A record sitepack does not know (a newer Akeeba's) in an archive sitepack did not
    write: its length counts itself and the payload, as in Akeeba's reader. In a header
    that says sitepack wrote it, the same record is damage."""
    for manifest in (False, True):
        path = tmp_path / f"a{int(manifest)}.jpa"
        with open_writer("jpa", path, part_size=65536, manifest=manifest) as writer:
            writer.add_bytes("a.txt", b"abc", mtime=1)
        raw = path.read_bytes()
        length = struct.unpack_from("<H", raw, 3)[0]
        unknown = b"JP\x09\x09" + (7).to_bytes(2, "little") + b"12345"
        path.write_bytes(raw[:3] + (length + len(unknown)).to_bytes(2, "little") + raw[5:19]
                         + unknown + raw[19:])
        if manifest:
            with pytest.raises(ArchiveError, match=r"^a1\.jpa has a damaged JPA header \(sitepack record\)"):
                open_archive(path)
            continue
        with open_archive(path) as reader:
            assert reader.declared_parts == 1 and not reader.declares_manifest
            assert [(e.path, b"".join(c)) for e, c in reader.entries()] == [("a.txt", b"abc")]


def test_spanned_header_extra_counts_the_parts(tmp_path):
    with open_writer("jpa", tmp_path / "s.jpa", part_size=65536, manifest=False) as writer:
        for i in range(30):
            writer.add_bytes(f"f{i}", noise(5000, i), mtime=i)
    first = (tmp_path / "s.j01").read_bytes()
    assert first[3:5] == (HEADER + 8).to_bytes(2, "little")
    parts = len(list(tmp_path.glob("s.j0*"))) + 1
    assert parts == 3
    assert first[19:27] == bytes.fromhex("4a500101") + (4).to_bytes(2, "little") + (3).to_bytes(2, "little")
    assert len(first) <= 65536


def test_entity_header_bytes_for_a_deflated_file():
    entry = Entry("dir/a.php", EntryType.FILE, 100, 0o100644, 0x01020304)
    header = entity_header(entry, 1, 42)
    assert header == (b"JPF" + (21 + 9 + 8).to_bytes(2, "little") + (9).to_bytes(2, "little")
                      + b"dir/a.php" + bytes([1, 1]) + (42).to_bytes(4, "little")
                      + (100).to_bytes(4, "little") + (0o100644).to_bytes(4, "little")
                      + bytes.fromhex("0001 0800 04030201".replace(" ", "")))


def test_directory_paths_end_with_a_slash():
    header = entity_header(Entry("a/b", EntryType.DIR, 0, 0o40755, 5), 0, 0)
    assert header[7:11] == b"a/b/"
    assert header[11:13] == bytes([0, 0])


def test_jpa13_entity_extra_for_sizes_beyond_32_bits():
    size = 5 * 1024 ** 3
    header = entity_header(Entry("huge.bin", EntryType.FILE, size, 0o100644, 7), 0, size)
    assert header[-20:] == (bytes.fromhex("0002") + (20).to_bytes(2, "little")
                            + size.to_bytes(8, "little") + size.to_bytes(8, "little"))
    fields = struct.unpack_from("<BBIII", header, 7 + 8)
    assert fields[2:4] == (0xFFFFFFFF, 0xFFFFFFFF)


def test_reader_uses_the_jpa13_extra(tmp_path):
    """A hand-made 1.3 archive whose u32 sizes are wrong: the 64-bit extra wins."""
    data = b"x" * 70000
    path = b"big.bin"
    extras = (struct.pack("<HHI", 0x0100, 8, 9)
              + struct.pack("<HHQQ", 0x0200, 20, len(data), len(data)))
    block = (b"JPF" + struct.pack("<HH", 21 + len(path) + len(extras), len(path)) + path
             + struct.pack("<BBIII", 1, 0, 1, 1, 0o100600) + extras)
    header = (struct.pack("<3sHBBIII", b"JPA", 19 + 22, 1, 3, 1, 1, 1)
              + struct.pack("<4sHQQ", b"JP\x01\x02", 18, len(data), len(data)))
    (tmp_path / "h.jpa").write_bytes(header + block + data)
    with open_archive(tmp_path / "h.jpa") as reader:
        assert isinstance(reader, JpaReader)
        assert reader.version == (1, 3) and reader.total_size == len(data)
        [(entry, got)] = [(e, b"".join(c)) for e, c in reader.entries()]
    assert entry == Entry("big.bin", EntryType.FILE, len(data), 0o100600, 9)
    assert got == data


def test_round_trip_of_every_entry_kind(tmp_path):
    with open_writer("jpa", tmp_path / "r.jpa") as writer:
        writer.add_dir("d", 0o40750, 100)
        writer.add_bytes("d/ä.php", b"<?php echo 'x';\n" * 50, mode=0o100640, mtime=200)
        writer.add_file("d/big", io.BytesIO(b"\x01" * 1_500_000), mode=0o100600, mtime=300, size=1_500_000)
        writer.add_symlink("d/l", "ä.php", mtime=400)
        writer.add_bytes("empty", b"", mtime=500)
    got = read_all(tmp_path / "r.jpa")
    assert [(e.path, e.type, e.mode, e.mtime) for e, _ in got[:-1]] == [
        ("d", EntryType.DIR, 0o40750, 100),
        ("d/ä.php", EntryType.FILE, 0o100640, 200),
        ("d/big", EntryType.FILE, 0o100600, 300),
        ("d/l", EntryType.SYMLINK, 0o120777, 400),
        ("empty", EntryType.FILE, 0o100644, 500),
    ]
    assert got[1][1] == b"<?php echo 'x';\n" * 50
    assert got[2][1] == b"\x01" * 1_500_000
    assert got[3][0].target == "ä.php"
    assert got[-1][0].path == "installation/sitepack-manifest.tsv.gz"


def test_large_files_are_stored_small_ones_deflated(tmp_path):
    with open_writer("jpa", tmp_path / "m.jpa", manifest=False) as writer:
        writer.add_bytes("small", b"a" * 1000, mtime=1)
        writer.add_bytes("large", b"a" * (1024 * 1024), mtime=1)
    raw = (tmp_path / "m.jpa").read_bytes()
    small_fields = struct.unpack_from("<BBIII", raw, HEADER + 7 + 5)
    assert small_fields[1] == 1 and zlib.decompress(raw[HEADER + 34:HEADER + 34 + small_fields[2]], -15) == b"a" * 1000
    large_at = HEADER + 34 + small_fields[2]
    assert struct.unpack_from("<BBIII", raw, large_at + 7 + 5)[:3] == (1, 0, 1024 * 1024)


def test_part_size_below_64k_is_refused(tmp_path):
    with pytest.raises(ArchiveError, match=r"^part size 1000 bytes is too small: use at least 64 KiB"):
        open_writer("jpa", tmp_path / "x.jpa", part_size=1000)


def test_missing_middle_part_is_named(tmp_path):
    with open_writer("jpa", tmp_path / "s.jpa", part_size=65536) as writer:
        for i in range(40):
            writer.add_bytes(f"f{i}", noise(5000, i), mtime=i)
    (tmp_path / "s.j02").unlink()
    with pytest.raises(MissingPartError, match=r"^part s\.j02 of this archive is missing"):
        open_archive(tmp_path / "s.jpa")


def test_missing_last_numbered_part_is_named(tmp_path):
    with open_writer("jpa", tmp_path / "s.jpa", part_size=65536) as writer:
        for i in range(40):
            writer.add_bytes(f"f{i}", noise(5000, i), mtime=i)
    parts = sorted(tmp_path.glob("s.j0*"))
    parts[-1].unlink()
    with pytest.raises(MissingPartError, match=rf"part {parts[-1].name} is missing"):
        open_archive(tmp_path / "s.jpa")


def test_a_stream_larger_than_4_gib_gets_the_64_bit_extra(tmp_path):
    """A fake 4 GiB + 10 source: the header goes out before the data, then the source
    fails; the entity header that was written is the 1.3 one, and it is rolled back."""
    from packer.archive.base import SourceChangedError

    class Endless(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            if self.served >= 3 * 1024 * 1024:
                return 0
            n = min(len(buffer), 1024 * 1024)
            buffer[:n] = b"\0" * n
            self.served += n
            return n

    size = 4 * 1024 ** 3 + 10
    path = tmp_path / "huge.jpa"
    writer = open_writer("jpa", path, manifest=False)
    seen = []
    original = writer.out.write
    writer.out.write = lambda data: (seen.append(bytes(data[:200])), original(data))
    with pytest.raises(SourceChangedError):
        writer.add_file("huge.bin", io.BufferedReader(Endless()), size=size, mtime=1)
    header = seen[0]
    assert header[:3] == b"JPF" and b"huge.bin" in header
    assert struct.unpack_from("<BBII", header, 7 + 8)[2:] == (0xFFFFFFFF, 0xFFFFFFFF)
    assert header[-20:] == (bytes.fromhex("0002") + (20).to_bytes(2, "little")
                            + size.to_bytes(8, "little") + size.to_bytes(8, "little"))
    writer.out.write = original
    writer.add_bytes("small", b"x", mtime=1)
    writer.close()
    with open_archive(path) as reader:
        assert [e.path for e, _ in reader.entries()] == ["small"]


def test_a_sitepack_jpa_without_the_room_for_the_totals_still_reads(tmp_path):
    """Archives written before the room existed: spanned record, then the manifest's."""
    path = tmp_path / "old.jpa"
    with open_writer("jpa", path, part_size=65536) as writer:
        writer.add_bytes("a.txt", b"abc", mtime=1)
    raw = path.read_bytes()
    assert raw[27:27 + 22] == b"JPSR" + (18).to_bytes(2, "little") + bytes(16)
    path.write_bytes(raw[:3] + (19 + 8 + 6).to_bytes(2, "little") + raw[5:27] + raw[27 + 22:])
    with open_archive(path) as reader:
        assert reader.declares_manifest and reader.version == (1, 2)
        assert [(e.path, b"".join(c)) for e, c in reader.entries()][0] == ("a.txt", b"abc")
    assert verify(path).ok


def test_a_symlink_whose_header_size_is_not_its_target_length_is_damage(tmp_path):
    path = tmp_path / "l.jpa"
    with open_writer("jpa", path, manifest=False) as writer:
        writer.add_symlink("link", "target.txt", mtime=1)
    raw = bytearray(path.read_bytes())
    fields = raw.index(b"link") + 4          # type, method, compressed, uncompressed, mode
    assert struct.unpack_from("<BBII", raw, fields) == (2, 0, 10, 10)
    struct.pack_into("<I", raw, fields + 6, 11)
    path.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match=r"^the archive is damaged: the target of symlink "
                                           r"'link' has 10 bytes but its header says 11$"):
        read_all(path)
