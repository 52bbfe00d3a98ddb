"""restorer/privatefile.py: a private file is replaced whole and owner-only, or not at all."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from restorer.privatefile import write_private_json

ROOT = Path(__file__).resolve().parents[1]


def test_replaced_whole_owner_only_with_no_temporary_file_left(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    target.chmod(0o644)
    previous = os.umask(0)  # the mode must not depend on the caller's umask
    try:
        write_private_json(target, {"key": "derived-key", "seq": 2})
    finally:
        os.umask(previous)
    assert json.loads(target.read_text()) == {"key": "derived-key", "seq": 2}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.proof("reliability", "the disk fills while a private state file is rewritten")
def test_a_write_that_fails_half_way_keeps_the_old_file_and_leaves_nothing(tmp_path, proof):
    """The file-size limit makes the write fail after 64 KiB, as a full disk would."""
    target = tmp_path / "state.json"
    write_private_json(target, {"seq": 1})
    before = target.read_bytes()
    code = ("import resource, signal, sys\n"
            "from pathlib import Path\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))\n"
            "from restorer.privatefile import write_private_json\n"
            "write_private_json(Path(sys.argv[1]), {'seq': 2, 'big': 'x' * 200000})\n")
    result = subprocess.run([sys.executable, "-c", code, str(target)], cwd=ROOT,
                            capture_output=True, text=True)
    proof.cases += 1
    assert result.returncode != 0 and "File too large" in result.stderr
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    proof.note("write cut at 64 KiB of 200 KB: old state kept, no temporary file left")
