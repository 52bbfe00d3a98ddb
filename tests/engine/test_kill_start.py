"""SIGKILL a ``sitepack backup`` in its first moments, over and over (issue 21, item 1).

A backup used to be unresumable when killed between the creation of its record and its
first saved state. Each round starts ``sitepack backup`` as a user does and kills it
once it has done a chosen amount of work, read from the disk: the output folder made,
the working folder, the log, the archive's first part, the state file, the first saved
states, then a random extra moment of up to a few milliseconds (so kills also land
between those marks). After every kill there must be either a pending record that
``sitepack backup --resume`` completes to an archive ``sitepack verify`` accepts, or no
record at all; and after a last clean backup nothing may be left that no record owns
(no part, sidecar, log or working folder: a start killed before its record existed is
cleared by the next start).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine_helpers import sitepack_verify
from packer import profiles, records
from packer.home import jobs_dir, logs_dir

PASSWORD = "first moments"
STEP_SECONDS = 0.005


def _seq(job: Path) -> int:
    try:
        return json.loads((job / "state.json").read_text())["seq"]
    except (FileNotFoundError, ValueError):
        return -1


def _job_folders() -> list[Path]:
    return list(jobs_dir().iterdir()) if jobs_dir().is_dir() else []


def _parts(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()} - {".htaccess", "web.config"} if out.is_dir() else set()


def _logs() -> set[tuple[str, int]]:
    """(name, mtime): a start that took a killed one's id writes a new log of the same name."""
    found = set()
    for path in logs_dir().iterdir() if logs_dir().is_dir() else ():
        with contextlib.suppress(FileNotFoundError):  # cleared by the start under way
            found.add((path.name, path.stat().st_mtime_ns))
    return found


# The work a starting backup has done, in the order it is done; each one a kill point.
# ``before`` is what earlier rounds left: (parts, logs).
MARKS = {
    "output folder made": lambda out, before: out.is_dir(),
    "working folder made": lambda out, before: bool(_job_folders()),
    "log opened": lambda out, before: bool(_logs() - before[1]),
    "first part created": lambda out, before: bool(_parts(out) - before[0]),
    "state file written": lambda out, before: any(_seq(j) >= 0 for j in _job_folders()),
    "first state saved": lambda out, before: any(_seq(j) >= 1 for j in _job_folders()),
    "second state saved": lambda out, before: any(_seq(j) >= 2 for j in _job_folders()),
}


def _sitepack(*args):
    return subprocess.run(["sitepack", *args], capture_output=True, text=True,
                          env={**os.environ, "ARCHIVE_KEY": PASSWORD}, stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.proof("reliability", "a backup is SIGKILLed in its first moments (before, while and "
                                  "just after its first state is saved), jps and jpa")
@pytest.mark.parametrize("fmt", ["jps", "jpa"])
def test_backup_killed_in_its_first_moments_resumes_or_leaves_nothing(demo, tmp_path, fmt, proof):
    profiles.save({"min_exec": 0, "max_exec": STEP_SECONDS}, name="slices")
    out = tmp_path / "out"
    command = ["sitepack", "backup", str(demo.root), "--format", fmt, "--output-dir", str(out),
               "--profile", "slices", "--part-size", "512K", "--quiet"]
    if fmt == "jps":
        command += ["--password-env", "ARCHIVE_KEY"]
    rng = random.Random(20261207)
    outcomes = {"resumed": 0, "no record": 0}
    for round_ in range(3):
        for mark, reached in MARKS.items():
            before = (_parts(out), _logs())
            child = subprocess.Popen(command, env={**os.environ, "ARCHIVE_KEY": PASSWORD},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while child.poll() is None and not reached(out, before):
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.003))
            child.kill()
            assert child.wait() == -signal.SIGKILL, f"the backup finished before the kill ({mark})"
            proof.cases += 1
            pending = [r for r in records.list_records() if r.status == "pending"]
            assert len(pending) <= 1
            if not pending:
                outcomes["no record"] += 1
                continue
            resumed = _sitepack("backup", "--resume", str(pending[0].id), "--quiet")
            assert resumed.returncode == 0, f"killed after: {mark}\n{resumed.stderr}"
            record = records.get(pending[0].id)
            assert record.status == "ok"
            sitepack_verify(record.part_paths()[-1], PASSWORD if fmt == "jps" else None)
            outcomes["resumed"] += 1
    # Both sides of the window were hit, or the test proves nothing about it.
    assert outcomes["resumed"] and outcomes["no record"], outcomes

    final = subprocess.run(command, env={**os.environ, "ARCHIVE_KEY": PASSWORD},
                           capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    owned = [r for r in records.list_records()]
    assert {r.status for r in owned} == {"ok"}
    assert _parts(out) == {name for r in owned for name in r.parts}  # no stray part or sidecar
    assert {p.name for p in logs_dir().iterdir()} == {Path(r.log_path).name for r in owned}
    assert _job_folders() == []
    proof.note(f"{proof.cases} kills: {outcomes['resumed']} resumed to a verified archive, "
               f"{outcomes['no record']} left no record; nothing left unowned")
