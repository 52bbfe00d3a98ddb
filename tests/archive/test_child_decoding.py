"""Small files decoded by the writer processes (inflate; AES-CBC for JPS 2.0; JPS 3.0's
records are authenticated in the reader first): the same bytes as decoding here, and damaged data reported with the very message the reader gives when
it decodes in this process."""

from __future__ import annotations

import hashlib
import random
import stat
from pathlib import Path

import pytest

from packer.archive import open_writer
from restorer.errors import ArchiveError
from restorer.extract import filewriter
from restorer.extract.extractor import extract
from restorer.extract.filewriter import TEMP_SUFFIX, FileWriter, current_umask
from restorer.formats import open_archive
from restorer.formats.base import StoredData
from restorer.formats.jpa import METHOD_DEFLATE

PASSWORD = "child decoding test"
SUFFIX = {"jpa": ".jpa", "zip": ".zip", "jps": ".jps", "jps2": ".jps"}
FILES = 300
DAMAGED = 250   # well past the files written before the children start


def content(i: int) -> bytes:
    rng = random.Random(i)
    words = [b"<?php", b"echo", b"$value", b"function", b"return", b"array(", b"null;", b"\n"]
    return b" ".join(rng.choice(words) for _ in range(200 + i % 300)) + b"%d" % i


def make_archive(tmp_path: Path, fmt: str) -> Path:
    archive = tmp_path / ("site" + SUFFIX[fmt])
    password = PASSWORD if fmt.startswith("jps") else None
    with open_writer(fmt, archive, password=password) as writer:
        for i in range(FILES):
            writer.add_bytes(f"d{i % 7}/file{i}.php", content(i), mtime=1_600_000_000 + i,
                             mode=stat.S_IFREG | (0o600 if i % 5 == 0 else 0o644))
    return archive


def password_for(fmt: str) -> str | None:
    return PASSWORD if fmt.startswith("jps") else None


@pytest.mark.parametrize("fmt", ["jpa", "zip", "jps", "jps2"])
@pytest.mark.parametrize("children_behind", [False, True])
def test_children_decode_every_format_to_the_same_bytes(tmp_path, monkeypatch, fmt, children_behind):
    """Children that keep up decode and hash; children that are behind get decoded
    bytes (this process hashes them and makes the folders): the same files either way."""
    if children_behind:
        monkeypatch.setattr(filewriter, "_BACKLOG", -1)
    else:  # never behind, however slow the disk is at the moment
        monkeypatch.setattr(filewriter._Child, "unread", lambda child: 0)
    archive = make_archive(tmp_path, fmt)
    report = extract(archive, tmp_path / "out", password=password_for(fmt))
    assert report.manifest_checked
    for i in range(FILES):
        path = tmp_path / "out" / f"d{i % 7}" / f"file{i}.php"
        assert path.read_bytes() == content(i)
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == (0o600 if i % 5 == 0 else 0o644)
        assert info.st_mtime == 1_600_000_000 + i


def data_offset(archive: Path, fmt: str, wanted: str) -> int:
    """Where the stored data of entry ``wanted`` starts in the archive (JPS 3.0: where
    its entry record starts, which holds a small file's data)."""
    with open_archive(archive, password_for(fmt)) as reader:
        stream = getattr(reader, "stream", None) or reader._stream
        entries = reader.entries()
        while True:
            record_start = stream.tell()   # all files are small: nothing to skip before
            entry, _ = next(entries)
            if entry.path == wanted:
                return record_start if fmt == "jps" else stream.tell()


def extraction_error(archive: Path, fmt: str, target: Path) -> ArchiveError:
    with pytest.raises(ArchiveError) as failure:
        extract(archive, target, password=password_for(fmt))
    assert not any(p.name.endswith(TEMP_SUFFIX) for p in target.rglob("*"))
    return failure.value


@pytest.mark.parametrize("fmt,damage", [
    ("jpa", "zeros"), ("zip", "flip"), ("zip", "zeros"), ("jps", "flip"), ("jps2", "flip"),
    ("jps2", "zeros")])
def test_damaged_data_gets_the_message_decoding_here_gives(tmp_path, monkeypatch, fmt, damage):
    archive = make_archive(tmp_path, fmt)
    wanted = f"d{DAMAGED % 7}/file{DAMAGED}.php"
    at = data_offset(archive, fmt, wanted) + 40
    data = bytearray(archive.read_bytes())
    if damage == "flip":
        data[at] ^= 0x10
    else:
        data[at:at + 24] = bytes(24)
    archive.write_bytes(bytes(data))

    by_children = extraction_error(archive, fmt, tmp_path / "children")
    monkeypatch.setattr(FileWriter, "INLINE_FILES", 10 ** 9)   # every file decoded here
    here = extraction_error(archive, fmt, tmp_path / "here")

    assert type(by_children) is type(here)
    assert str(by_children) == str(here)
    assert wanted in str(here) or "the archive is damaged" in str(here)
    assert not (tmp_path / "children" / wanted).exists()
    for i in range(DAMAGED):   # everything before the damaged file is there, whole
        path = tmp_path / "children" / f"d{i % 7}" / f"file{i}.php"
        assert path.read_bytes() == content(i)


def test_data_a_child_refuses_but_this_process_decodes_is_still_written(tmp_path):
    """Should a child ever refuse data the reader decodes, this process writes that file
    and every file handed to that child after it."""
    writer = FileWriter(current_umask(), decoding=("restorer.formats.jpa", {}))
    digests = {}
    expected = {}
    for i in range(FileWriter.INLINE_FILES + 200):
        body = b"file %d\n" % i
        data = body
        if i >= FileWriter.INLINE_FILES and i % 50 == 0:
            # not a deflate stream: the child refuses it; decode() here says it is fine
            data = StoredData(b"\xff" * 10, (METHOD_DEFLATE, len(body), 0), lambda body=body: body)
        name = str(tmp_path / f"f{i}")
        writer.write(name, data, 0o644, None, lambda sha, name=name: digests.__setitem__(name, sha))
        expected[name] = body
    assert writer.children_started == 2 and writer.takes_stored
    writer.close()
    for name, body in expected.items():
        assert Path(name).read_bytes() == body
        assert digests[name] == hashlib.sha256(body).hexdigest()


def test_children_that_are_behind_get_decoded_bytes_and_this_process_hashes(tmp_path, monkeypatch):
    """A child behind on its files is not given decoding to do: the data it could not
    decode (here: any) reaches it decoded, and each digest is known at hand-over."""
    monkeypatch.setattr(filewriter, "_BACKLOG", -1)
    writer = FileWriter(current_umask(), decoding=("restorer.formats.jpa", {}))
    digests = {}
    for i in range(FileWriter.INLINE_FILES + 100):
        body = b"file %d\n" % i
        data = body
        if i >= FileWriter.INLINE_FILES:   # a child would refuse it: not deflate data
            data = StoredData(b"\xff" * 10, (METHOD_DEFLATE, len(body), 0), lambda body=body: body)
        name = str(tmp_path / f"f{i}")
        writer.write(name, data, 0o644, None, lambda sha, name=name: digests.__setitem__(name, sha))
        assert digests[name] == hashlib.sha256(body).hexdigest()   # reported at once
    assert writer.children_started == 2 and writer.behind
    writer.close()
    for i in range(FileWriter.INLINE_FILES + 100):
        assert (tmp_path / f"f{i}").read_bytes() == b"file %d\n" % i
