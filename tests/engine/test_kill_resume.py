"""SIGKILL a backup at random points, over and over, and resume it each time (E4, B5).

The backup runs in a child process in small steps (max_exec 5 ms). An uninterrupted
reference backup with the same settings tells how many steps the whole backup takes;
KILLS random points are drawn over that length: each child is killed with SIGKILL a
random moment (up to about one step) after the backup saved the state numbered by the
next point, and at least one new state (so every round makes progress, most kills land
in the middle of a step, and the kills reach every domain however the time splits
between them), then a new child resumes it; after KILLS kills the last child may
finish. The step count depends on the machine's speed, so the points are derived from
it; a killed run saves more states than the reference (every resume redoes the step a
kill cut short), so it is still running at the last point. The final archive must
verify and extract to the same content as the uninterrupted backup.
"""

from __future__ import annotations

import collections
import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_helpers import backup_tree, check_and_extract, sitepack_verify

from packer import profiles, records
from packer.engine import BackupJob, run_to_completion
from packer.home import jobs_dir

PASSWORD = "kill -9 proof"
KILLS = 25
STEP_SECONDS = 0.005
RESUME = ("import sys\n"
          "from packer.engine import BackupJob, run_to_completion\n"
          "report = run_to_completion(BackupJob.load(int(sys.argv[1])))\n"
          "sys.exit(1 if report.failed else 0)\n")


def _seq(path) -> int | None:
    try:
        return json.loads(path.read_text())["seq"]
    except FileNotFoundError:
        return None


@pytest.mark.slow
def test_backup_survives_many_sigkills(demo, tmp_path):
    profiles.save({"min_exec": 0, "max_exec": STEP_SECONDS}, name="slices")
    common = dict(fmt="jps", part_size=512 * 1024, archive_password=PASSWORD, profile="slices")
    steps = []
    reference = run_to_completion(BackupJob.start(demo.root, output_dir=tmp_path / "ref", **common),
                                  steps.append)
    assert not reference.failed, reference.error
    reference_steps = collections.Counter(report.current_domain for report in steps)
    rng = random.Random(20261127)
    # Kill points spread over the whole length of the reference (a saved-state number
    # each), so the kills reach every domain however the time splits between them.
    points = sorted(rng.sample(range(1, len(steps)), KILLS))

    job_id = BackupJob.start(demo.root, output_dir=tmp_path / "killed", **common).id
    state = jobs_dir() / str(job_id) / "state.json"
    kills = 0
    for point in points:
        target = max(point, _seq(state) + 1)
        child = subprocess.Popen([sys.executable, "-c", RESUME, str(job_id)])
        while child.poll() is None and (_seq(state) or target) < target:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, STEP_SECONDS * 1.2))
        child.kill()
        if child.wait() != -signal.SIGKILL:  # it finished before the kill
            break
        kills += 1
        assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert kills == KILLS, f"only {kills} kills: the backup finished too fast to test resuming"
    child = subprocess.run([sys.executable, "-c", RESUME, str(job_id)])
    assert child.returncode == 0

    # the CLI's --resume on a finished backup reports it (and its record) again
    again = subprocess.run(["sitepack", "backup", "--resume", str(job_id)], capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr
    rec = records.get(job_id)
    assert rec.status == "ok" and f"record: #{job_id}" in again.stdout
    resumed_in = set(re.findall(r"resuming at (\w+)/", Path(rec.log_path).read_text()))
    assert {"db", "files"} <= resumed_in, (resumed_in, reference_steps)
    assert not (jobs_dir() / str(job_id)).exists()
    killed_archive = rec.part_paths()[-1]
    assert len(rec.part_paths()) > 1
    assert sorted(p.name for p in killed_archive.parent.iterdir()) == rec.parts  # no leftovers

    sitepack_verify(killed_archive, PASSWORD)
    ref_out = check_and_extract(reference.archive, tmp_path / "ref-out", PASSWORD)
    got_out = check_and_extract(killed_archive, tmp_path / "killed-out", PASSWORD)
    ref_tree = backup_tree(ref_out)
    got_tree = backup_tree(got_out)
    assert got_tree.keys() == ref_tree.keys()
    assert got_tree == ref_tree
    assert "installation/sql/site.sql" in got_tree and "images" in got_tree
    assert (got_out / "installation" / "restorer" / "restore" / "session.py").is_file()
