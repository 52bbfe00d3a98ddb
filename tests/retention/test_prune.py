"""Retention applied to real backups: after each backup and with `sitepack backups prune`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from packer import profiles, records


def _sitepack(*args):
    return subprocess.run(["sitepack", *args], capture_output=True, text=True, env=os.environ)


def _ids(status=None):
    return [r.id for r in records.list_records() if status is None or r.status == status]


def test_retention_runs_after_each_backup_and_deletes_only_what_records_name(tmp_path, make_backup):
    profiles.save({"retention": {"keep_last": 2}}, name="nightly")
    out = tmp_path / "out"
    out.mkdir()
    (out / "someone-elses.jpa").write_bytes(b"not ours")  # a file no record names
    first = make_backup("first", profile="nightly")
    other = make_backup("other-profile")
    second = make_backup("second", profile="nightly")
    assert (out / "first.jpa").exists()
    third = make_backup("third", profile="nightly")
    # keep_last 2 of profile "nightly": the first is gone with its file and log
    assert sorted(_ids()) == [other.id, second.id, third.id]
    assert not (out / "first.jpa").exists() and not Path(first.log_path).exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "other-profile.jpa", "second.jpa", "someone-elses.jpa", "third.jpa"]
    assert "retention: deleted backup #%d" % first.id in Path(third.log_path).read_text()


def test_a_profile_without_rules_keeps_everything(make_backup):
    made = [make_backup(f"b{i}") for i in range(3)]
    assert sorted(_ids()) == [r.id for r in made]
    dry = _sitepack("backups", "prune", "--dry-run")
    assert dry.returncode == 0
    assert "profile default: keep everything (no retention rule)" in dry.stdout
    assert "remove" not in dry.stdout


def test_prune_dry_run_says_what_and_why_then_prune_removes_it(tmp_path, make_backup):
    made = {}
    for day in ("2026-11-01", "2026-11-15", "2026-11-30", "2026-12-01", "2026-12-02"):
        made[day] = make_backup(f"site-{day}", started=f"{day} 03:00:00")
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


def test_the_last_good_backup_survives_any_policy(make_backup):
    profiles.save({}, name="nightly")
    old = make_backup("old", profile="nightly", started="2020-01-01 03:00:00")
    failed = records.create(type="files", format="jpa", profile="nightly")
    records.update(failed.id, status="failed", error="disk full")
    profiles.save({"retention": {"keep_days": 1, "keep_bytes": 1}}, name="nightly")
    done = _sitepack("backups", "prune")
    assert done.returncode == 0, done.stderr
    assert f"#{old.id}" in done.stdout and "keep  : newest good backup" in done.stdout
    assert sorted(_ids()) == [old.id, failed.id]  # failed records are no backups to prune
