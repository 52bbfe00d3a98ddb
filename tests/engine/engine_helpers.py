"""Helpers for backup tests: what an archive should hold, verification and extraction."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from restorer.extract.extractor import extract
from restorer.extract.verify import verify

# Akeeba's default filters: these folders are kept, their contents are not.
SKIPPED_CONTENTS = ("cache", "tmp", "administrator/cache", "administrator/logs")
# Files that differ between any two backups of one site: ids, dates, and the manifest's
# mtimes of them.
PER_BACKUP = ("installation/extrainfo.json", "installation/README.html",
              "installation/sitepack-manifest.tsv.gz")
# The restorer runtime is copied from the live source tree, which may change between two
# backups while other work goes on; its presence is checked, not its bytes.
RUNTIME = ("installation/restorer", "installation/templates", "installation/vendor")


def tree(root: Path, *, skip_contents=(), skip=()) -> dict[str, tuple]:
    """rel path -> ("d",) | ("f", bytes, mode) | ("l", target) under ``root``."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        if rel_dir in skip_contents:
            dirnames[:] = []
            continue
        for name in sorted(dirnames + filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if rel in skip or rel.split("/")[0] in skip:
                if name in dirnames:
                    dirnames.remove(name)
                continue
            full = Path(dirpath) / name
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(full))
                if name in dirnames:
                    dirnames.remove(name)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d",)
            elif name != "error_log":
                out[rel] = ("f", full.read_bytes(), stat.S_IMODE(st.st_mode))
    return out


def backup_tree(extracted: Path) -> dict[str, tuple]:
    """``tree`` of an extracted backup without what differs between two backups of one site."""
    return tree(extracted, skip_contents=RUNTIME, skip=PER_BACKUP)


def site_expected(root: Path, *, output="sitepack-backups") -> dict[str, tuple]:
    return tree(root, skip_contents=SKIPPED_CONTENTS, skip=(output,))


def sitepack_verify(archive: str | Path, password: str | None = None) -> str:
    """Runs ``sitepack verify`` as a user would; returns its output (fails unless exit 0)."""
    env = {**os.environ, "ARCHIVE_KEY": password or ""}
    args = ["sitepack", "verify", "-q", str(archive)]
    if password:
        args += ["--password-env", "ARCHIVE_KEY"]
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def check_and_extract(archive: str | Path, dest: Path, password: str | None = None) -> Path:
    report = verify(archive, password=password)
    assert report.ok, report.problems
    extract(archive, dest, password=password)
    return dest
