"""Storage faults (E4, issue 23 part 2): a full disk during a backup and during an
extraction (a small tmpfs the test mounts, or RLIMIT_FSIZE), an output folder that
becomes unwritable mid-backup, a part deleted or truncated between backup and restore.

Every case: one clear line saying what is wrong and what to do, a failed record (a
backup), no temporary file or unfinished part left, the log kept, and nothing left that
looks complete (no file under the archive's real name; a damaged archive writes nothing).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import subprocess
from pathlib import Path

import pytest

from packer import profiles, records
from restorer.extract.filewriter import TEMP_SUFFIX
from tests.reliability.conftest import SLICES, backup_command, extract_command, with_key
from tests.reliability.crash import bytes_under, start

# Root ignores file modes; without these capabilities it obeys them as a web user would.
WITHOUT_ROOT_FILE_ACCESS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


@contextlib.contextmanager
def small_disk(path: Path, size: str):
    """A tmpfs of ``size`` mounted at ``path`` for the block (the tests run as root)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def file_size_limit(limit: int):
    """A ``preexec_fn`` that caps the size of any file the child writes (RLIMIT_FSIZE)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def one_line(result: subprocess.CompletedProcess) -> str:
    """The one error line of a failed command (a backup also names its record first)."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert result.returncode == 1 and len(errors) == 1, (result.returncode, result.stderr)
    assert set(lines) - set(errors) <= {line for line in lines if line.startswith("backup #")}, result.stderr
    return errors[0]


def temp_files(*folders: Path) -> list[str]:
    return [str(Path(d, n)) for folder in folders for d, _, names in os.walk(folder)
            for n in names if n.endswith(TEMP_SUFFIX)]


def check_failed_backup(out: Path, message: str) -> records.Record:
    """A failed record with ``message``, its log kept, no part of it left in ``out``."""
    (record,) = records.list_records()
    assert record.status == "failed" and message == f"error: backup #{record.id} failed: {record.error}"
    assert f"backup failed: {record.error}" in Path(record.log_path).read_text()
    left = {p.name for p in out.iterdir()} - {".htaccess", "web.config"}
    assert not left, left
    return record


@pytest.mark.proof("reliability", "the disk fills up during a backup (a 2 MiB tmpfs as the output "
                                  "folder; RLIMIT_FSIZE on a one-part archive)")
@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_a_full_disk_fails_the_backup_cleanly(how, demo_site, tmp_path, proof):
    profiles.save(SLICES, name="slices")
    out = tmp_path / "out"
    with contextlib.ExitStack() as stack:
        if how == "tmpfs":
            stack.enter_context(small_disk(out, "2m"))
            run = subprocess.run(backup_command(demo_site.root, out), env=with_key(), capture_output=True,
                                 text=True)
        else:
            run = subprocess.run(backup_command(demo_site.root, out, "--part-size", "100M"), env=with_key(),
                                 capture_output=True, text=True, preexec_fn=file_size_limit(1 << 20))
        message = one_line(run)
        assert re.match(r"error: backup #1 failed: (the disk is full|a file grew larger than this system "
                        r"allows).*(free some space|choose a smaller part size)", message), message
        check_failed_backup(out, message)
    proof.cases += 1
    proof.note(f"{how}: {message[:60]}…; record failed, log kept, no part left")


@pytest.mark.proof("reliability", "the output folder becomes unwritable in the middle of a backup")
def test_an_output_folder_made_unwritable_mid_backup_fails_the_backup_cleanly(demo_site, tmp_path, proof):
    profiles.save(SLICES, name="slices")
    out = tmp_path / "out"
    backup = start([*WITHOUT_ROOT_FILE_ACCESS, *backup_command(demo_site.root, out)], env=with_key(),
                   stderr=subprocess.PIPE, text=True)
    try:
        while backup.poll() is None and bytes_under(out) < 700_000:  # the second part has begun
            pass
        out.chmod(0o555)
        _, err = backup.communicate(timeout=300)
    finally:
        out.chmod(0o755)
    message = one_line(subprocess.CompletedProcess([], backup.returncode, "", err))
    archive = next(r for r in records.list_records()).archive_name
    stem = str(out / archive).rsplit(".", 1)[0]
    assert re.fullmatch(rf"error: backup #1 failed: permission denied writing \({re.escape(stem)}\.j\d\d\): "
                        rf"make that folder writable .*; its unfinished parts could not be deleted "
                        rf"\(Permission denied\): delete {re.escape(stem)}\.\* by hand", message), message
    (record,) = records.list_records()
    assert record.status == "failed"
    assert f"backup failed: {record.error}" in Path(record.log_path).read_text()
    # What could not be deleted are numbered parts and sidecars: none carries the real name.
    left = {p.name for p in out.iterdir()} - {".htaccess", "web.config"}
    assert left and record.archive_name not in left, left
    assert all(name.startswith(Path(stem).name + ".") for name in left), left
    proof.cases += 1
    proof.note("one line naming the folder; failed record, log kept, nothing under the archive's name")


@pytest.mark.proof("reliability", "the disk fills up during an extraction (a 2 MiB tmpfs as the target; "
                                  "RLIMIT_FSIZE of 100 KiB)")
@pytest.mark.parametrize("how", ["tmpfs", "rlimit"])
def test_a_full_disk_fails_the_extraction_cleanly(how, reference_backup, tmp_path, proof):
    dest, private = tmp_path / "disk" / "site", tmp_path / "private"
    command = extract_command(reference_backup.archive, dest, private)
    with contextlib.ExitStack() as stack:
        if how == "tmpfs":
            stack.enter_context(small_disk(tmp_path / "disk", "2m"))
            run = subprocess.run(command, env=with_key(), capture_output=True, text=True)
        else:
            run = subprocess.run(command, env=with_key(), capture_output=True, text=True,
                                 preexec_fn=file_size_limit(100 << 10))
        message = one_line(run)
        assert re.search(r"(No space left on device; free some space|File too large; the file is larger "
                         r"than this system allows.*raise the limit).*, then extract again$", message), message
        assert temp_files(dest, private) == []
    proof.cases += 1
    proof.note(f"{how}: {message[:70]}…; no temporary file left")


def _damaged_copies(archive: Path, tmp_path: Path):
    """(what was done, the last part of a copy of ``archive`` with that damage)."""
    parts = sorted(archive.parent.glob(archive.stem + ".*"))
    assert len(parts) > 3
    cases = []
    for index, part in enumerate(parts):
        for damage in ("deleted", "truncated"):
            if damage == "deleted" and part == archive:
                continue  # without its last part nothing names the archive
            folder = tmp_path / f"{damage}-{index}"
            folder.mkdir()
            for other in parts:
                shutil.copy(other, folder / other.name)
            victim = folder / part.name
            if damage == "deleted":
                victim.unlink()
            else:
                os.truncate(victim, victim.stat().st_size * 2 // 3)
            cases.append((f"{part.suffix} {damage}", folder / archive.name))
    return cases


@pytest.mark.proof("reliability", "a part of a multi-part archive is deleted or truncated between the "
                                  "backup and the restore (each part in turn)")
def test_a_missing_or_short_part_is_refused_before_anything_is_written(reference_backup, tmp_path, proof):
    for what, archive in _damaged_copies(reference_backup.archive, tmp_path):
        for command in (["sitepack", "verify", "--password-env", "ARCHIVE_KEY", "-q", str(archive)],
                        extract_command(archive, archive.parent / "site", archive.parent / "private")):
            run = subprocess.run(command, env=with_key(), capture_output=True, text=True)
            message = one_line(run)
            assert "copy every part" in message, (what, message)
            proof.cases += 1
        left = bytes_under(archive.parent / "site") + bytes_under(archive.parent / "private")
        assert left == 0, f"{what}: {left} bytes written from a damaged archive"
    proof.note(f"{proof.cases // 2} damaged copies; verify and extract each said 'copy every part' "
               f"in one line and wrote nothing")
