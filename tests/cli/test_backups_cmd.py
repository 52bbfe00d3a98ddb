"""``sitepack backups``: list, show, freeze, delete-files, delete."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from packer import profiles, records
from packer.engine import BackupJob, run_to_completion
from packer.home import logs_dir


def _sitepack(*args):
    return subprocess.run(["sitepack", *args], capture_output=True, text=True, env=os.environ)


def _backup(tmp_path, name, **kwargs):
    site = tmp_path / "site"
    if not site.exists():
        (site / "images").mkdir(parents=True)
        (site / "images" / "a.jpg").write_bytes(b"\xff\xd8" * 500)
    job = BackupJob.start(site, backup_type="files", output_dir=tmp_path / "out",
                          name_template=name, description=f"backup {name}", **kwargs)
    report = run_to_completion(job)
    assert not report.failed
    return records.get(job.id)


def test_list_and_show(tmp_path):
    assert _sitepack("backups", "list").stdout == \
        "no backups yet (make one with `sitepack backup SITE_ROOT`)\n"
    first = _backup(tmp_path, "one", part_size=64 * 1024, comment="first comment")
    second = _backup(tmp_path, "two")
    listing = _sitepack("backups", "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "F", "TYPE", "FMT", "STARTED", "(UTC)", "SIZE",
                                "WARN", "DESCRIPTION"]
    assert lines[1].split()[:4] == [str(second.id), "ok", "files", "jpa"]
    assert lines[1].endswith("backup two") and lines[2].endswith("backup one")

    shown = _sitepack("backups", "show", str(first.id), "--log")
    assert shown.returncode == 0
    out = shown.stdout
    for line in (f"id:             {first.id}", "status:         ok", "comment:        first comment",
                 "origin:         cli", "type:           files", "archive:        one.jpa",
                 f"part:           {tmp_path / 'out' / 'one.jpa'}", "--- log"):
        assert line in out.splitlines(), line
    assert "INFO    | backup complete" in out


def test_freeze_delete_files_and_delete(tmp_path):
    rec = _backup(tmp_path, "keep")
    archive = tmp_path / "out" / "keep.jpa"
    assert _sitepack("backups", "freeze", str(rec.id)).stdout == f"backup #{rec.id} frozen\n"
    refused = _sitepack("backups", "delete", str(rec.id))
    assert refused.returncode == 1
    assert refused.stderr == (f"error: backup #{rec.id} is frozen and cannot be deleted; unfreeze "
                              f"it first (Unfreeze in Manage Backups, or sitepack backups freeze "
                              f"{rec.id} --unfreeze)\n")
    assert _sitepack("backups", "delete-files", str(rec.id)).returncode == 1
    assert archive.exists() and records.get(rec.id).frozen

    assert _sitepack("backups", "freeze", str(rec.id), "--unfreeze").returncode == 0
    emptied = _sitepack("backups", "delete-files", str(rec.id))
    assert emptied.returncode == 0 and not archive.exists()
    assert records.get(rec.id).status == "obsolete"
    assert Path(rec.log_path).exists()

    gone = _sitepack("backups", "delete", str(rec.id))
    assert gone.stdout == f"deleted backup #{rec.id} (record, archive files and log)\n"
    assert not Path(rec.log_path).exists()
    assert _sitepack("backups", "show", str(rec.id)).returncode == 1


def test_delete_an_interrupted_backup_removes_its_parts(tmp_path):
    site = tmp_path / "site"
    (site / "images").mkdir(parents=True)
    (site / "images" / "big.bin").write_bytes(os.urandom(300 * 1024))
    profiles.save({"min_exec": 0, "max_exec": 0.001}, name="tiny")
    job = BackupJob.start(site, backup_type="files", output_dir=tmp_path / "out",
                          name_template="cut", part_size=64 * 1024, profile="tiny")
    job.step()
    job.step()  # one step, then the process "dies" (the job is never stepped again)
    assert records.get(job.id).status == "pending"
    assert any((tmp_path / "out").glob("cut.j0*"))
    listing = _sitepack("backups", "list").stdout
    assert " pending " in listing
    deleted = _sitepack("backups", "delete", str(job.id))
    assert deleted.returncode == 0, deleted.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_a_start_killed_before_its_first_saved_state_leaves_no_record(tmp_path):
    import signal
    import sys
    import time
    site = tmp_path / "site"
    (site / "images").mkdir(parents=True)
    # The child stops (SIGSTOP) itself right after start() made the first part, before that
    # state is saved: then it is killed. Its record never existed, and the next backup,
    # which gets the same id, clears what it wrote, so the same name can be used again.
    code = ("import os, signal, sys\n"
            "from pathlib import Path\n"
            "import packer.engine as engine\n"
            "def stop(self):\n"
            "    os.kill(os.getpid(), signal.SIGSTOP)\n"
            "engine.BackupJob.save = stop\n"
            f"engine.BackupJob.start(Path({str(site)!r}), backup_type='files',"
            f" output_dir=Path({str(tmp_path / 'out')!r}), name_template='early')\n")
    child = subprocess.Popen([sys.executable, "-c", code])
    while not (tmp_path / "out" / "early.j01").exists():
        assert child.poll() is None
        time.sleep(0.01)
    time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert records.list_records() == []
    again = _sitepack("backup", str(site), "--type", "files", "--output-dir", str(tmp_path / "out"),
                      "--name", "early")
    assert again.returncode == 0, again.stderr
    (rec,) = records.list_records()
    assert rec.status == "ok"
    assert {p.name for p in (tmp_path / "out").iterdir()} - {".htaccess", "web.config"} == \
        set(rec.parts)
    assert sorted(p.name for p in logs_dir().iterdir()) == [Path(rec.log_path).name]