"""Retention applied to real backups: after each backup and with `sitepack backups prune`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from packer import profiles, records
from packer.engine import BackupJob, run_to_completion


def _sitepack(*args):
    return subprocess.run(["sitepack", *args], capture_output=True, text=True, env=os.environ)


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    if not site.exists():
        (site / "images").mkdir(parents=True)
        (site / "images" / "a.jpg").write_bytes(b"\xff\xd8" * 500)
    return site


def _backup(tmp_path, name, *, profile="nightly", started=None) -> records.Record:
    job = BackupJob.start(_site(tmp_path), profile=profile, backup_type="files",
                          output_dir=tmp_path / "out", name_template=name)
    report = run_to_completion(job)
    assert not report.failed, report.error
    if started:
        records.update(job.id, started=started, finished=started)
    return records.get(job.id)


def _ids(status=None):
    return [r.id for r in records.list_records() if status is None or r.status == status]


def test_retention_runs_after_each_backup_and_deletes_only_what_records_name(tmp_path):
    profiles.save({"retention": {"keep_last": 2}}, name="nightly")
    out = tmp_path / "out"
    out.mkdir()
    (out / "someone-elses.jpa").write_bytes(b"not ours")  # a file no record names
    first = _backup(tmp_path, "first")
    other = _backup(tmp_path, "other-profile", profile="default")
    second = _backup(tmp_path, "second")
    assert (out / "first.jpa").exists()
    third = _backup(tmp_path, "third")
    # keep_last 2 of profile "nightly": the first is gone with its file and log
    assert sorted(_ids()) == [other.id, second.id, third.id]
    assert not (out / "first.jpa").exists() and not Path(first.log_path).exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "other-profile.jpa", "second.jpa", "someone-elses.jpa", "third.jpa"]
    assert "retention: deleted backup #%d" % first.id in Path(third.log_path).read_text()


def test_a_profile_without_rules_keeps_everything(tmp_path):
    made = [_backup(tmp_path, f"b{i}", profile="default") for i in range(3)]
    assert sorted(_ids()) == [r.id for r in made]
    dry = _sitepack("backups", "prune", "--dry-run")
    assert dry.returncode == 0
    assert "profile default: keep everything (no retention rule)" in dry.stdout
    assert "remove" not in dry.stdout


def test_prune_dry_run_says_what_and_why_then_prune_removes_it(tmp_path):
    made = {}
    for day in ("2026-11-01", "2026-11-15", "2026-11-30", "2026-12-01", "2026-12-02"):
        made[day] = _backup(tmp_path, f"site-{day}", profile="default", started=f"{day} 03:00:00")
    records.freeze(made["2026-11-01"].id)
    profiles.save({"retention": {"keep_last": 2, "keep_monthly": 1}}, name="default")

    dry = _sitepack("backups", "prune", "--profile", "default", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = {line.split()[0]: line for line in dry.stdout.splitlines()[1:]}
    assert dry.stdout.splitlines()[0] == "profile default: keep last 2, 1 monthly"
    def line(day):
        return lines[f"#{made[day].id}"]
    assert "keep  : newest good backup, last 2 (#1), monthly 2026-12" in line("2026-12-02")
    assert "keep  : last 2 (#2)" in line("2026-12-01")
    assert "would remove: no rule keeps it" in line("2026-11-30")
    assert "would remove: no rule keeps it" in line("2026-11-15")
    assert "keep  : frozen" in line("2026-11-01")
    assert sorted(_ids()) == sorted(r.id for r in made.values())  # a dry run removes nothing

    done = _sitepack("backups", "prune", "--profile", "default")
    assert done.returncode == 0, done.stderr
    assert "deleted 2 backup(s)" in done.stdout
    assert sorted(_ids()) == sorted(made[d].id for d in ("2026-11-01", "2026-12-01", "2026-12-02"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "site-2026-11-01.jpa", "site-2026-12-01.jpa", "site-2026-12-02.jpa"]


def test_the_last_good_backup_survives_any_policy(tmp_path):
    profiles.save({}, name="nightly")
    old = _backup(tmp_path, "old", started="2020-01-01 03:00:00")
    failed = records.create(type="files", format="jpa", profile="nightly")
    records.update(failed.id, status="failed", error="disk full")
    profiles.save({"retention": {"keep_days": 1, "keep_bytes": 1}}, name="nightly")
    done = _sitepack("backups", "prune")
    assert done.returncode == 0, done.stderr
    assert f"#{old.id}" in done.stdout and "keep  : newest good backup" in done.stdout
    assert sorted(_ids()) == [old.id, failed.id]  # failed records are no backups to prune
