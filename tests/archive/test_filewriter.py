"""Small files written by child processes: same bytes, modes and times as written here,
failures reported by name, nothing half-written; and extraction into a full or
conflicting target ends with one clear message."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from packer.archive import open_writer
from restorer.errors import MissingPartError, TargetWriteError, UnsafeEntryError
from restorer.extract.extractor import extract
from restorer.extract.filewriter import TEMP_SUFFIX, FileWriter, WriteFailure, current_umask

MANY = FileWriter.INLINE_FILES + 150   # enough for the children to write most of them


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


def test_children_write_what_this_process_would(tmp_path):
    writer = FileWriter(current_umask())
    expected = {}
    for i in range(MANY):
        name = f"f{i}.php" if i % 7 else f"caf\u00e9-{i}-\udcff.bin"   # a name that is not UTF-8
        mode = (0o644, 0o600, 0o755, 0o777, 0o1777)[i % 5]
        mtime = None if i % 11 == 0 else 1_500_000_000 + i
        data = os.urandom(i * 37 % 5000)
        writer.write(str(tmp_path / name), data, stat.S_IFREG | mode, mtime)
        expected[name] = (data, mode, mtime)
    assert writer.children_started == 2
    writer.close()
    for name, (data, mode, mtime) in expected.items():
        info = (tmp_path / name).lstat()
        assert (tmp_path / name).read_bytes() == data
        assert stat.S_IMODE(info.st_mode) == mode, name
        if mtime is not None:
            assert info.st_mtime == mtime
    assert leftovers(tmp_path) == []


def test_a_failing_child_names_the_file_and_stops(tmp_path):
    (tmp_path / "blocked").mkdir()
    writer = FileWriter(current_umask())
    for i in range(FileWriter.INLINE_FILES + 10):
        writer.write(str(tmp_path / f"ok{i}"), b"fine", 0o644, None)
    with pytest.raises(WriteFailure) as failure:
        writer.write(str(tmp_path / "blocked"), b"a file where a directory is", 0o644, None)
        writer.close()
    assert failure.value.filename == str(tmp_path / "blocked")
    assert failure.value.step == "rename"
    assert leftovers(tmp_path) == []
    assert all((tmp_path / f"ok{i}").read_bytes() == b"fine" for i in range(FileWriter.INLINE_FILES + 10))


def test_a_killed_child_is_an_error_not_a_hang(tmp_path):
    writer = FileWriter(current_umask())
    for i in range(FileWriter.INLINE_FILES + 1):
        writer.write(str(tmp_path / f"f{i}"), b"x", 0o644, None)
    for child in writer._processes:
        os.kill(child.process.pid, signal.SIGKILL)
        child.process.wait()
    with pytest.raises(WriteFailure, match="stopped"):
        for i in range(100):
            writer.write(str(tmp_path / f"g{i}"), b"y" * 100_000, 0o644, None)
        writer.close()


def test_a_child_never_writes_a_file_it_did_not_receive_whole(tmp_path):
    """A child whose input ends mid-file (the extraction died) writes nothing of it."""
    from restorer.extract.filewriter import FILE_HEAD, SETUP_HEAD, child_command
    path = str(tmp_path / "cut.php").encode()
    message = (SETUP_HEAD.pack(2) + b"{}" + FILE_HEAD.pack(len(path), 1000, 0o644, 0, 0, 0, 0, 0)
               + path + b"only part of it")
    result = subprocess.run(child_command(), input=message, capture_output=True)
    assert result.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_another_restorer_in_the_current_folder_is_not_what_the_children_run(tmp_path):
    """Extracting from inside a site bundle's installation/ folder (which holds an older
    restorer) or with PYTHONPATH pointing elsewhere: the children are this restorer."""
    stale = tmp_path / "cwd"
    (stale / "restorer" / "extract").mkdir(parents=True)
    (stale / "restorer" / "__init__.py").write_text("")
    (stale / "restorer" / "extract" / "__init__.py").write_text("")
    (stale / "restorer" / "extract" / "filewriter.py").write_text(
        "import sys\nsys.stdout.write('R')\nsys.stdout.flush()\nsys.stdin.read()\n")
    archive = make_archive(tmp_path, 300)
    home = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([home, str(stale)]))
    result = subprocess.run([sys.executable, "-c", "import sys; sys.path.remove(''); "
                             "from packer.cli import main; main()", "extract", str(archive),
                             str(tmp_path / "site"), "-q"], cwd=stale, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(assert_whole(tmp_path / "site")) == 300


def source_bytes(i: int) -> bytes:
    return b"<?php echo %d;\n" % i * (1 + i % 50)


def make_archive(tmp_path, files: int, big: int = 0) -> Path:
    archive = tmp_path / "site.jpa"
    with open_writer("jpa", archive) as writer:
        for i in range(files):
            writer.add_bytes(f"d{i % 9}/file{i}.php", source_bytes(i), mtime=1_600_000_000)
        if big:
            writer.add_bytes("big.bin", os.urandom(big), mtime=1_600_000_000)
    return archive


def assert_whole(target: Path) -> list[Path]:
    """Every file extracted is complete; returns them."""
    written = list(target.rglob("*.php"))
    for path in written:
        assert path.read_bytes() == source_bytes(int(path.stem[4:]))
    return written


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_extracting_onto_a_full_disk_is_one_clear_error_and_leaves_no_partial_file(tmp_path, tiny_disk):
    archive = make_archive(tmp_path, 400)
    target = tiny_disk / "site"
    with pytest.raises(TargetWriteError) as failure:
        extract(archive, target)
    message = str(failure.value)
    assert message.startswith("cannot write d")
    assert f"into {target}: No space left on device; free some space or extract somewhere " \
           "else, then extract again" in message
    assert leftovers(target) == []
    assert_whole(target)


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path, tiny_disk):
    archive = make_archive(tmp_path, 20, big=400_000)   # the big file is streamed here
    result = subprocess.run([sys.executable, "-m", "packer.cli", "extract", str(archive),
                             str(tiny_disk / "site"), "-q"], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot write big.bin into ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert leftovers(tiny_disk) == [] and not (tiny_disk / "site" / "big.bin").exists()


def test_a_directory_in_the_way_of_a_file_written_by_a_child_is_refused_by_name(tmp_path):
    archive = make_archive(tmp_path, 300)
    target = tmp_path / "site"
    (target / "d2" / "file299.php").mkdir(parents=True)
    with pytest.raises(UnsafeEntryError, match=r"cannot extract 'd2/file299.php': a directory "
                                               "with that name already exists in the target folder"):
        extract(archive, target)
    assert leftovers(target) == []


def test_a_damaged_archive_stops_the_children_cleanly(tmp_path):
    archive = make_archive(tmp_path, 300)
    data = archive.read_bytes()
    archive.write_bytes(data[:data.index(b"file200.php") + 5])   # cut inside entry 200
    target = tmp_path / "site"
    with pytest.raises(MissingPartError, match=r"^site\.jpa ends early \(in an entity header .*"
                                               r"the archive is truncated; copy or download it again$"):
        extract(archive, target)
    assert leftovers(target) == []
    assert len(assert_whole(target)) == 200   # the children wrote all before the cut, whole
