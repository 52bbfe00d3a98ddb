"""`sitepack backups check`: one line and the exit code for each state, plain and --nagios."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time

from packer import profiles, records
from packer.engine import BackupJob
from packer.home import jobs_dir

OK, FAILED, WARNINGS = 0, 1, 2
NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3


def _check(*args):
    plain = subprocess.run(["sitepack", "backups", "check", *args], capture_output=True,
                           text=True, env=os.environ)
    nagios = subprocess.run(["sitepack", "backups", "check", "--nagios", *args],
                            capture_output=True, text=True, env=os.environ)
    assert plain.stdout == nagios.stdout and plain.stderr == ""
    assert len(plain.stdout.splitlines()) == 1, plain.stdout
    return plain.stdout.strip(), plain.returncode, nagios.returncode


def _ago(**delta) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(**delta)).strftime("%Y-%m-%d %H:%M:%S")


def _failed(*, hours_ago=0) -> records.Record:
    record = records.create(type="files", format="jpa")
    return records.update(record.id, status="failed", error="the database server went away",
                          started=_ago(hours=hours_ago))


def test_no_backup_at_all_is_critical():
    assert _check() == ("CRITICAL: sitepack all profiles: no good backup yet", FAILED,
                        NAGIOS_CRITICAL)


def test_a_recent_good_backup_is_ok_and_an_older_failure_does_not_matter(make_backup):
    _failed(hours_ago=4)
    make_backup("good", started=_ago(hours=3))
    assert _check() == ("OK: sitepack all profiles: last good backup 3h00m ago (max 26h00m)",
                        OK, NAGIOS_OK)


def test_a_backup_older_than_max_age_is_critical(make_backup):
    good = make_backup("good", started=_ago(hours=30))
    assert _check() == (f"CRITICAL: sitepack all profiles: last good backup #{good.id} is 30h00m "
                        f"old (max 26h00m)", FAILED, NAGIOS_CRITICAL)
    assert _check("--max-age", "2d")[1:] == (OK, NAGIOS_OK)


def test_a_failure_since_the_last_good_backup_is_a_warning(make_backup):
    make_backup("good", started=_ago(hours=2))
    failed = _failed()
    assert _check() == (f"WARNING: sitepack all profiles: 1 failed since the last good one "
                        f"(see sitepack backups show {failed.id})", WARNINGS, NAGIOS_WARNING)


def test_a_stuck_backup_is_a_warning_a_running_one_is_not(make_backup, tiny_site):
    make_backup("good", started=_ago(hours=1))
    job = BackupJob.start(tiny_site, backup_type="files", output_dir=tiny_site.parent / "out",
                          name_template="stuck")  # started, state saved, never stepped
    assert records.get(job.id).status == "pending"
    assert _check()[1:] == (OK, NAGIOS_OK)  # its state was saved seconds ago: running
    two_hours_ago = time.time() - 7200
    os.utime(jobs_dir() / str(job.id) / "state.json", (two_hours_ago, two_hours_ago))
    assert _check() == (f"WARNING: sitepack all profiles: stuck: #{job.id} (resume with sitepack "
                        f"backup --resume ID or delete)", WARNINGS, NAGIOS_WARNING)


def test_the_worst_finding_wins_and_every_finding_is_named(make_backup):
    make_backup("good", started=_ago(hours=50))
    _failed()
    line, plain, nagios = _check()
    assert line.startswith("CRITICAL: sitepack all profiles: last good backup #")
    assert "; 1 failed since the last good one" in line
    assert (plain, nagios) == (FAILED, NAGIOS_CRITICAL)


def test_profile_scope_and_a_misspelt_profile(make_backup):
    profiles.save({}, name="shop")
    make_backup("blog", started=_ago(hours=1))
    make_backup("shop", started=_ago(hours=40), profile="shop")
    assert _check("--profile", "default")[1:] == (OK, NAGIOS_OK)
    assert _check("--profile", "shop")[0].startswith("CRITICAL: sitepack profile shop: last good")
    wrong = subprocess.run(["sitepack", "backups", "check", "--profile", "shpo"],
                           capture_output=True, text=True, env=os.environ)
    assert (wrong.returncode, wrong.stdout) == (FAILED, "")
    assert wrong.stderr.startswith("error: there is no backup profile named 'shpo'")
    nagios = subprocess.run(["sitepack", "backups", "check", "--nagios", "--max-age", "soon"],
                            capture_output=True, text=True, env=os.environ)
    assert (nagios.returncode, nagios.stdout) == (
        NAGIOS_UNKNOWN, "UNKNOWN: sitepack: 'soon' is not a duration; write it like 26h, 90m, "
                        "2d or 1w\n")


def test_uploads_pending_are_a_warning(make_backup):
    good = make_backup("good", started=_ago(hours=1))
    records.update(good.id, status="upload-pending")
    assert _check() == (f"WARNING: sitepack all profiles: uploads pending: #{good.id} "
                        f"(sitepack backups upload ID)", WARNINGS, NAGIOS_WARNING)


def _drill(record_id: int) -> subprocess.CompletedProcess:
    """A real ``sitepack drill --backup ID`` (files only: no database, no pages to serve)."""
    return subprocess.run(["sitepack", "drill", "--backup", str(record_id), "--no-pages"],
                          capture_output=True, text=True, env=os.environ)


def test_the_newest_good_backups_drill_is_reported_never_drilled_and_failed_are_warnings(make_backup):
    profiles.save({"drill": True}, name="drilled")
    good = make_backup("drilled", started=_ago(hours=2), profile="drilled")
    assert _check() == (f"WARNING: sitepack all profiles: #{good.id} never drilled although profile "
                        f"drilled drills every backup (sitepack drill --backup {good.id})",
                        WARNINGS, NAGIOS_WARNING)

    assert _drill(good.id).returncode == 2   # restorable; pages not checked (--no-pages)
    line, plain, nagios = _check()
    assert re.fullmatch(rf"OK: sitepack all profiles: last good backup 2h00m ago \(max 26h00m\); "
                        rf"#{good.id} restorable: verified \d{{4}}-\d\d-\d\d, [1-9]\d* files, "
                        rf"0 tables, 0 pages", line), line
    assert (plain, nagios) == (OK, NAGIOS_OK)

    archive = good.part_paths()[-1]   # damaged after the fact: the next drill says what broke
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(data)
    assert _drill(good.id).returncode == 1
    line, plain, nagios = _check()
    assert line.startswith(f"WARNING: sitepack all profiles: #{good.id} drill failed: NOT restorable (")
    assert line.count(":") > 4, line          # the failure itself is named, not only "failed"
    assert (plain, nagios) == (WARNINGS, NAGIOS_WARNING)


def test_a_drill_result_is_reported_even_when_the_profile_does_not_drill(make_backup):
    good = make_backup("good", started=_ago(hours=1))
    assert _drill(good.id).returncode == 2   # restorable; pages not checked (--no-pages)
    line, plain, nagios = _check("--profile", "default")
    assert line.startswith("OK: sitepack profile default: last good backup 60m ago (max 26h00m); "
                           f"#{good.id} restorable: verified "), line
    assert (plain, nagios) == (OK, NAGIOS_OK)
