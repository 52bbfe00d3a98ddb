"""How steps are paced: a step ends when a new domain starts (the progress page hears of
the database step as it starts), only browser-driven steps wait for ``min_exec``, and the
backup made that way is still whole."""

from __future__ import annotations

import time

from engine_helpers import check_and_extract

from packer import profiles
from packer.engine import BackupJob, run_to_completion


def test_first_web_step_reports_the_database_step_as_it_starts(demo, tmp_path):
    # max_exec far beyond what the whole demo backup needs: before, the first request
    # ran the backup through and the page showed "Initialising" until it was over.
    profiles.save({"min_exec": 0, "max_exec": 120}, name="long-steps")
    job = BackupJob.start(demo.root, profile="long-steps", output_dir=tmp_path / "o", origin="web")
    first = BackupJob.load(job.id).step()
    assert not first.finished and not first.failed, first.error
    assert first.current_domain == "db"
    assert [(d["key"], d["status"]) for d in first.domains] == [
        ("init", "done"), ("db", "running"), ("files", "pending"), ("finalise", "pending")]
    seen = [first.current_domain]
    while not (report := BackupJob.load(job.id).step()).finished:
        seen.append(report.current_domain)
    assert not report.failed, report.error
    assert seen[:3] == ["db", "files", "finalise"]
    check_and_extract(report.archive, tmp_path / "out")


def test_only_browser_driven_steps_wait_for_min_exec(demo, tmp_path):
    profiles.save({"min_exec": 3, "max_exec": 120}, name="paced")
    web = BackupJob.start(demo.root, profile="paced", output_dir=tmp_path / "web", origin="web")
    began = time.monotonic()
    report = web.step()   # initialising alone takes a fraction of min_exec
    assert not report.finished and time.monotonic() - began >= 3

    # The CLI steps through the same four domains without a single wait: a 30 s
    # min_exec would add at least 90 s to it.
    profiles.save({"min_exec": 30, "max_exec": 120}, name="slow-host")
    cli = BackupJob.start(demo.root, profile="slow-host", output_dir=tmp_path / "cli")
    steps = []
    began = time.monotonic()
    report = run_to_completion(cli, steps.append)
    assert not report.failed, report.error
    assert len(steps) >= 4 and time.monotonic() - began < 30
    check_and_extract(report.archive, tmp_path / "out")
