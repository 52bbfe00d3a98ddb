"""Checkpoint/resume: a writer killed after a checkpoint continues to the same bytes.

A "kill" is simulated the way SIGKILL leaves things: the writer object is abandoned
(never closed), more bytes than the checkpoint covers reach the disk (garbage appended
to the current part, a later part started, sidecars grown), and a new process resumes
from the JSON state.
"""

from __future__ import annotations

import io
import json

import pytest

from packer.archive import open_writer, resume_writer
from packer.archive.base import SourceChangedError
from restorer.extract.verify import verify
from tests.archive.treeutil import ENCRYPTED, SUFFIX, noise, password_for

FORMATS = ["jpa", "zip", "jps", "jps2"]


def add_entries(writer, start: int, stop: int) -> None:
    for i in range(start, stop):
        if i % 7 == 0:
            writer.add_dir(f"d{i}", 0o40755, 1_600_000_000 + i)
        elif i % 5 == 0:
            writer.add_symlink(f"l{i}", f"f{i - 1}", mtime=1_600_000_000 + i)
        elif i % 11 == 0:
            writer.add_file(f"big{i}", io.BytesIO(noise(1_200_000, i)), mode=0o100600,
                            mtime=1_600_000_000 + i, size=1_200_000)
        else:
            writer.add_bytes(f"f{i}", noise(3000 + 977 * i, i)[: 2000 + 500 * i] + b"text" * i,
                             mtime=1_600_000_000 + i)


def archive_bytes(parts) -> list[bytes]:
    return [p.read_bytes() for p in parts]


def fresh_writer(fmt, path, split):
    return open_writer(fmt, path, part_size=split, password=password_for(fmt))


@pytest.mark.parametrize("split", [None, 65536], ids=["one-part", "split"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_resume_after_kill_gives_identical_archive(tmp_path, monkeypatch, fmt, split):
    monkeypatch.setattr("time.time", lambda: 1_700_000_000.0)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    reference = fresh_writer(fmt, tmp_path / "a" / f"x{SUFFIX[fmt]}", split)
    add_entries(reference, 0, 40)
    expected = archive_bytes(reference.close())

    killed = fresh_writer(fmt, tmp_path / "b" / f"x{SUFFIX[fmt]}", split)
    add_entries(killed, 0, 20)
    state = json.loads(json.dumps(killed.checkpoint()))
    add_entries(killed, 20, 30)           # work done after the checkpoint, then the kill
    killed.checkpoint()                   # ... even flushed to disk
    for part in (tmp_path / "b").glob("x.*"):
        # parts before the checkpoint's part were complete; the kill hits the rest
        if part.suffix[2:].isdigit() and int(part.suffix[2:]) >= state["part"]["index"]:
            with open(part, "ab") as handle:
                handle.write(b"garbage after the checkpoint" * 10)
    resumed = resume_writer(state)
    add_entries(resumed, 20, 40)
    got = archive_bytes(resumed.close())

    assert [len(p) for p in got] == [len(p) for p in expected]
    if fmt not in ENCRYPTED:     # encrypted formats use fresh random salts and IVs per run
        assert got == expected
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(
        p.name for p in (tmp_path / "a").iterdir())
    assert verify(tmp_path / "b" / f"x{SUFFIX[fmt]}", password=password_for(fmt)).ok


@pytest.mark.parametrize("fmt", FORMATS)
def test_resume_from_a_checkpoint_taken_before_any_entry(tmp_path, fmt):
    """The first checkpoint of a new archive (the backup engine saves one before its
    first step): JPS 3.0 writes its header only when the key is first needed, and the
    checkpoint must count it, or a resume cuts the header away."""
    path = tmp_path / f"x{SUFFIX[fmt]}"
    state = json.loads(json.dumps(fresh_writer(fmt, path, 65536).checkpoint()))
    resumed = resume_writer(state)
    add_entries(resumed, 0, 12)
    resumed.close()
    report = verify(path, password=password_for(fmt))
    assert report.ok and report.entries == 13  # the twelve and the manifest


def test_state_never_holds_the_password(tmp_path):
    for fmt in ("jps", "jps2"):
        writer = open_writer(fmt, tmp_path / f"{fmt}.jps", password="s3cret-Passw0rd")
        writer.add_bytes("a", b"a", mtime=1)
        assert "s3cret-Passw0rd" not in json.dumps(writer.checkpoint())
        writer.abort()


@pytest.mark.parametrize("fmt", ["jpa", "zip"])
def test_a_file_that_shrinks_while_archived_is_rolled_back(tmp_path, fmt):
    path = tmp_path / f"x{SUFFIX[fmt]}"
    with open_writer(fmt, path, part_size=65536) as writer:
        writer.add_bytes("before", b"before", mtime=1)
        with pytest.raises(SourceChangedError, match=r"^shrunk became shorter while it was archived"):
            writer.add_file("shrunk", io.BytesIO(noise(1_500_000)), size=3_000_000, mtime=2)
        writer.add_bytes("after", b"after", mtime=3)
    report = verify(path)
    assert report.ok and report.entries == 3


@pytest.mark.parametrize("fmt", ["jpa", "zip"])
def test_abort_deletes_every_part_and_sidecar(tmp_path, fmt):
    writer = open_writer(fmt, tmp_path / f"x{SUFFIX[fmt]}", part_size=65536)
    add_entries(writer, 0, 15)
    writer.checkpoint()
    assert len(list(tmp_path.iterdir())) > 2
    writer.abort()
    assert list(tmp_path.iterdir()) == []
