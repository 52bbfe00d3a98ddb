"""sitepack's JPS 3.0 (``jps``): round trips, passwords, and damage of every kind.

Most archives here use cheap scrypt costs (n = 16) so that the byte-by-byte damage
loops stay fast; one test goes through ``open_writer`` with the real defaults.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from jps_trees import add_tree, make_tree, read_back, read_everything

from packer.archive import open_writer
from packer.archive.jps import JpsWriter
from restorer.errors import ArchiveError, MissingPartError, WrongPasswordError
from restorer.extract.extractor import extract
from restorer.extract.verify import verify
from restorer.formats import NEEDS_PASSWORD, open_archive
from restorer.formats import jps as layout
from restorer.formats.crypto import KDF_ARGON2ID, KDF_SCRYPT, KdfParams

CHEAP = KdfParams(KDF_SCRYPT, 4, 8, 1)  # n = 16: fast, for tests only
PASSWORD = "pässwörd with spaces"
ROOT = Path(__file__).resolve().parents[2]


def seeded(seed: int):
    rng = random.Random(seed)
    return rng.randbytes


def small_archive(path: Path, **kwargs) -> list[Path]:
    writer = JpsWriter(path, password=PASSWORD, kdf=CHEAP, manifest=False, **kwargs)
    writer.add_dir("d", mtime=1)
    writer.add_bytes("d/a.txt", b"alpha " * 20, mtime=2)
    writer.add_bytes("b.bin", bytes(range(40)), mtime=3)
    writer.add_symlink("l", "d/a.txt", mtime=4)
    return writer.close()


@pytest.mark.parametrize("part_size", [None, 64 * 1024])
def test_tree_round_trip(tmp_path, part_size):
    make_tree(tmp_path / "site")
    archive = tmp_path / "out" / "site.jps"
    archive.parent.mkdir()
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP, part_size=part_size)
    expected = add_tree(writer, tmp_path / "site")
    parts = writer.close()
    assert parts[-1] == archive
    if part_size:
        assert len(parts) > 30
        assert [p.name for p in parts[:2]] == ["site.j01", "site.j02"]
        assert all(p.stat().st_size == part_size for p in parts[:-2])
    assert read_back(archive, PASSWORD) == expected
    assert {"cache/empty", "tmp", "link-to-index", "media/up", "empty.txt",
            "ünïcødé/ファイル €.txt"} <= set(expected)
    with open_archive(archive, PASSWORD) as reader:
        assert reader.format == "jps" and reader.has_checksums


def test_argon2id_round_trip(tmp_path):
    archive = tmp_path / "a.jps"
    writer = JpsWriter(archive, password=PASSWORD, kdf=KdfParams(KDF_ARGON2ID, 1, 64, 1),
                       manifest=False)
    writer.add_bytes("x", b"argon", mtime=9)
    writer.close()
    assert archive.read_bytes()[14] == KDF_ARGON2ID
    assert read_back(archive, PASSWORD) == {"x": ("FILE", 0o100644, 9, b"argon")}


def test_open_writer_default_header_and_kickstart_refusal(tmp_path):
    archive = tmp_path / "site.jps"
    with open_writer("jps", archive, password=PASSWORD) as writer:
        writer.add_bytes("index.php", b"<?php\n", mtime=5)
    head = archive.read_bytes()[:layout.HEADER_SIZE]
    # Standard JPS header, version 3.0, non-zero extra length: Akeeba's reader goes on to
    # read the key header and requires "JH\0\1" there; ours says "JK\0\3".
    assert head[:8] == b"JPS\x03\x00\x00" + struct.pack("<H", 131)
    assert head[8:12] == b"JK\x00\x03" != b"JH\x00\x01"
    assert struct.unpack_from("<HBIII", head, 12) == (131, KDF_SCRYPT, 16, 8, 1)
    assert len(head) == 139
    with open_archive(archive, PASSWORD) as reader:
        assert [e.path for e, _ in reader.entries()] == ["index.php",
                                                        "installation/sitepack-manifest.tsv.gz"]


def test_wrong_and_missing_password(tmp_path):
    archive = tmp_path / "site.jps"
    small_archive(archive)
    with pytest.raises(WrongPasswordError) as info:
        open_archive(archive, "Pässwörd with spaces")
    assert str(info.value) == ("wrong password for site.jps: the password check in its "
                               "header does not match")
    with pytest.raises(WrongPasswordError) as info:
        open_archive(archive)
    assert str(info.value) == NEEDS_PASSWORD


def test_writer_needs_a_password(tmp_path):
    with pytest.raises(ArchiveError, match="needs a password"):
        JpsWriter(tmp_path / "x.jps", password="")
    assert list(tmp_path.iterdir()) == []


def test_every_changed_byte_is_detected(tmp_path):
    archive = tmp_path / "site.jps"
    small_archive(archive)
    original = archive.read_bytes()
    assert read_everything(archive, PASSWORD) == 4
    assert len(original) < 700
    for position in range(len(original)):
        for flip in (0x01, 0x80):
            damaged = bytearray(original)
            damaged[position] ^= flip
            archive.write_bytes(damaged)
            with pytest.raises(ArchiveError):
                read_everything(archive, PASSWORD)
                pytest.fail(f"changing byte {position} went unnoticed")


def test_every_truncation_is_detected_and_named(tmp_path):
    archive = tmp_path / "site.jps"
    small_archive(archive)
    original = archive.read_bytes()
    for length in range(len(original)):
        archive.write_bytes(original[:length])
        with pytest.raises(ArchiveError):
            read_everything(archive, PASSWORD)
    archive.write_bytes(original[:-1])
    with pytest.raises(MissingPartError, match=r"^site\.jps ends early \(in the end record"):
        open_archive(archive, PASSWORD)
    archive.write_bytes(original + b"\0")
    with pytest.raises(ArchiveError):
        read_everything(archive, PASSWORD)


def split_records(data: bytes) -> list[bytes]:
    """The records after the header, each whole (head and sealed body)."""
    records, offset = [], layout.HEADER_SIZE
    while offset < len(data):
        _, length, _ = layout.RECORD_HEAD.unpack_from(data, offset)
        records.append(data[offset:offset + layout.RECORD_HEAD.size + length])
        offset += layout.RECORD_HEAD.size + length
    return records


def test_a_small_file_or_a_link_is_one_record_a_large_file_continues_in_data_records(tmp_path):
    archive = tmp_path / "site.jps"
    big = random.Random(3).randbytes(2 * 1024 * 1024 + 10)
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP, manifest=False)
    writer.add_bytes("small.php", b"<?php echo 1;\n" * 100, mtime=1)
    writer.add_symlink("link", "small.php", mtime=1)
    writer.add_bytes("empty", b"", mtime=1)
    writer.add_bytes("big.bin", big, mtime=1)
    writer.close()
    assert [r[:3] for r in split_records(archive.read_bytes())] == [
        b"JPF", b"JPF", b"JPF", b"JPF", b"JPD", b"JPD", b"JPD", b"JPE"]
    assert {path: data for path, (_, _, _, data) in read_back(archive, PASSWORD).items()} == {
        "small.php": b"<?php echo 1;\n" * 100, "link": b"small.php", "empty": b"", "big.bin": big}


def test_records_cannot_be_swapped_or_dropped(tmp_path):
    archive = tmp_path / "site.jps"
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP, manifest=False)
    rng = random.Random(5)   # incompressible, one chunk and 64 bytes: entry and two data records
    writer.add_bytes("one", rng.randbytes(1024 * 1024 + 64), mtime=1)
    writer.add_bytes("two", rng.randbytes(1024 * 1024 + 64), mtime=1)
    writer.close()
    data = archive.read_bytes()
    records = split_records(data)
    assert [r[:3] for r in records] == [b"JPF", b"JPD", b"JPD", b"JPF", b"JPD", b"JPD", b"JPE"]
    assert [len(r) for r in records[:3]] == [len(r) for r in records[3:6]]
    header = data[:layout.HEADER_SIZE]
    for order in ((0, 1, 5, 3, 4, 2, 6), (3, 4, 5, 0, 1, 2, 6), (0, 1, 2, 0, 1, 2, 6)):
        archive.write_bytes(header + b"".join(records[i] for i in order))
        with pytest.raises(ArchiveError, match="fails authentication"):
            read_everything(archive, PASSWORD)
    archive.write_bytes(header + b"".join(records[:3]) + records[6])
    with pytest.raises(MissingPartError, match="the parts hold"):
        read_everything(archive, PASSWORD)


def test_missing_and_short_parts_are_named(tmp_path):
    archive = tmp_path / "site.jps"
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP, part_size=64 * 1024, manifest=False)
    writer.add_bytes("big", random.Random(1).randbytes(300 * 1024), mtime=1)
    parts = writer.close()
    assert [p.name for p in parts] == ["site.j01", "site.j02", "site.j03", "site.j04", "site.jps"]
    parts[3].rename(tmp_path / "aside")
    with pytest.raises(MissingPartError) as info:
        open_archive(archive, PASSWORD)
    assert "site.j04 is missing" in str(info.value)
    (tmp_path / "aside").rename(parts[3])
    parts[1].rename(tmp_path / "aside")
    with pytest.raises(MissingPartError, match="site.j02 of this archive is missing"):
        open_archive(archive, PASSWORD)
    (tmp_path / "aside").rename(parts[1])
    os.truncate(parts[2], 1000)
    with pytest.raises(MissingPartError, match="a part is short"):
        open_archive(archive, PASSWORD)


def test_checkpoint_holds_the_derived_key_never_the_password(tmp_path):
    writer = JpsWriter(tmp_path / "site.jps", password=PASSWORD, kdf=CHEAP)
    writer.add_bytes("a", b"a", mtime=1)
    state = writer.checkpoint()
    writer.abort()
    text = json.dumps(state)
    assert PASSWORD not in text and PASSWORD.encode().hex() not in text
    assert len(base64.b64decode(state["format_state"]["key"])) == 32


KILLED_WRITER = """
import json, os, random, signal, sys
from packer.archive.jps import JpsWriter
from restorer.formats.crypto import KdfParams
archive, state_file = sys.argv[1], sys.argv[2]
w = JpsWriter(archive, password="pw", kdf=KdfParams(1, 4, 8, 1), part_size=64 * 1024,
              manifest=False, random_source=random.Random(1).randbytes)
rng = random.Random(5)
for i in range(20):
    w.add_bytes(f"f{i}", rng.randbytes(20000), mtime=i)
open(state_file, "w").write(json.dumps(w.checkpoint()))
for i in range(20, 40):
    w.add_bytes(f"f{i}", rng.randbytes(20000), mtime=i)
w.add_bytes("big", rng.randbytes(3 * 1024 * 1024), mtime=99)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _later_entries(writer) -> None:
    rng = random.Random(5)
    for i in range(20):
        rng.randbytes(20000)
    for i in range(20, 40):
        writer.add_bytes(f"f{i}", rng.randbytes(20000), mtime=i)
    writer.add_bytes("big", rng.randbytes(3 * 1024 * 1024), mtime=99)


def test_resume_after_kill_gives_the_same_bytes_without_the_password(tmp_path):
    killed = tmp_path / "killed" / "site.jps"
    killed.parent.mkdir()
    state_file = tmp_path / "state.json"
    result = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(killed), str(state_file)],
                            cwd=ROOT, capture_output=True)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert not killed.exists()  # the last part keeps its numbered name until close
    state = json.loads(state_file.read_text())
    resumed = JpsWriter(killed, part_size=64 * 1024, manifest=False, state=state,
                        random_source=random.Random(2).randbytes)
    _later_entries(resumed)
    killed_parts = resumed.close()

    # The same entries in one run, with the random source switched at the checkpoint.
    straight = tmp_path / "straight" / "site.jps"
    straight.parent.mkdir()
    writer = JpsWriter(straight, password="pw", kdf=CHEAP, part_size=64 * 1024, manifest=False,
                       random_source=random.Random(1).randbytes)
    rng = random.Random(5)
    for i in range(20):
        writer.add_bytes(f"f{i}", rng.randbytes(20000), mtime=i)
    writer.checkpoint()
    writer.random_source = random.Random(2).randbytes
    _later_entries(writer)
    straight_parts = writer.close()

    assert [p.name for p in killed_parts] == [p.name for p in straight_parts]
    for a, b in zip(killed_parts, straight_parts):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert read_everything(killed, "pw") == 41


def test_wrong_password_extracts_nothing_and_good_password_extracts_all(tmp_path):
    make_tree(tmp_path / "site")
    archive = tmp_path / "site.jps"
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP)
    expected = add_tree(writer, tmp_path / "site")
    writer.close()
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(WrongPasswordError) as info:
        extract(archive, dest, password="guess")
    assert str(info.value) == ("wrong password for site.jps: the password check in its "
                               "header does not match")
    assert list(dest.iterdir()) == []
    extract(archive, dest, password=PASSWORD)
    for path, (kind, mode, mtime, data) in expected.items():
        target = dest / path
        if kind == "FILE":
            assert target.read_bytes() == data and target.stat().st_mode == mode
        elif kind == "SYMLINK":
            assert os.readlink(target).encode() == data
        else:
            assert target.is_dir()
    assert verify(archive, password=PASSWORD).ok


def test_damaged_record_leaves_no_complete_looking_file(tmp_path):
    archive = tmp_path / "site.jps"
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP, manifest=False)
    writer.add_bytes("first.txt", b"first" * 100, mtime=1)
    writer.add_bytes("big.bin", random.Random(4).randbytes(3 * 1024 * 1024), mtime=2)
    writer.close()
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x10  # inside the second chunk of big.bin
    archive.write_bytes(data)
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveError, match=r"site\.jps at offset \d+: a data record of big\.bin "
                                           r"\(record \d+\) fails authentication"):
        extract(archive, dest, password=PASSWORD)
    assert not (dest / "big.bin").exists()
    assert not verify(archive, password=PASSWORD).ok


@pytest.mark.parametrize("kdf, message", [
    (KdfParams(KDF_SCRYPT, 22, 32, 1), r"refusing scrypt costs \(22, 32, 1\) beyond what sitepack"),
    (KdfParams(KDF_ARGON2ID, 3, 8 * 1024 * 1024, 4), r"refusing Argon2id costs"),
    (KdfParams(9, 1, 1, 1), r"unknown key derivation function id 9"),
])
def test_crafted_header_cannot_demand_huge_kdf_costs(tmp_path, kdf, message):
    archive = tmp_path / "site.jps"
    small_archive(archive)
    data = archive.read_bytes()
    header = layout.build_header(kdf, data[27:59], data[59:75], data[75:107], spanned=False)
    archive.write_bytes(header.raw + data[layout.HEADER_SIZE:])
    with pytest.raises(ArchiveError, match=r"^site\.jps: " + message):
        open_archive(archive, PASSWORD)


NO_CRYPTOGRAPHY = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "cryptography" or name.startswith("cryptography."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from restorer.formats import format_modules, open_archive
print(sorted(m.__name__.rsplit(".", 1)[1] for m in format_modules()))
try:
    open_archive(sys.argv[1], "pw")
except ModuleNotFoundError as exc:
    print("needs", exc.name)
"""


def test_without_cryptography_plain_formats_still_load(tmp_path):
    """The kickstart runs on hosts that may lack ``cryptography``: every format module
    must import there, and only opening an encrypted archive asks for it (the kickstart
    turns that ``ModuleNotFoundError`` into install instructions)."""
    archive = tmp_path / "site.jps"
    small_archive(archive)
    result = subprocess.run([sys.executable, "-c", NO_CRYPTOGRAPHY, str(archive)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['jpa', 'jps', 'jps2', 'zip']", "needs cryptography"]


@pytest.mark.parametrize("entity", [
    layout.entity_plaintext(0, 0, 0o40755, 1, "cache"),
    layout.entity_plaintext(1, 0, 0o100644, 1, "empty.txt")])
def test_data_in_the_record_of_an_entry_without_data_is_refused(tmp_path, entity):
    archive = tmp_path / "site.jps"
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP, manifest=False)
    writer._seal(entity + bytes((layout.METHOD_STORED,)) + b"x", ())   # a writer bug or a forger
    writer.close()
    with pytest.raises(ArchiveError, match="holds data but its size is 0: the archive is damaged"):
        read_everything(archive, PASSWORD)


def test_a_link_whose_target_is_shorter_than_its_size_is_refused(tmp_path):
    archive = tmp_path / "site.jps"
    writer = JpsWriter(archive, password=PASSWORD, kdf=CHEAP, manifest=False)
    entity = layout.entity_plaintext(2, 10, 0o120777, 1, "link")
    writer._seal(entity + bytes((layout.METHOD_STORED,)) + b"short", ())
    writer.close()
    with pytest.raises(ArchiveError, match="link holds more or less data than its entry record says"):
        read_everything(archive, PASSWORD)
