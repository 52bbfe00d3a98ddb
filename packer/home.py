"""The tool's data directory: records, profiles, logs, the state of running backups.

``$SITEPACK_HOME`` when set (tests set it per test), else ``~/.local/share/sitepack``.
Everything in it is private to the owner: directories 0700, files 0600, because state
files may hold a derived archive key and profiles a default archive password.
"""

from __future__ import annotations

import os
from pathlib import Path

# The one private-file writer (temp file, fsync, rename, 0600); the data directory's
# files are written with it, so it is offered from here too.
from restorer.privatefile import write_private_json

__all__ = ["data_dir", "private_dir", "logs_dir", "profiles_dir", "jobs_dir", "records_path",
           "write_private_json"]

_DEFAULT = Path("~/.local/share/sitepack")


def data_dir() -> Path:
    """The data directory, created (0700) when missing."""
    configured = os.environ.get("SITEPACK_HOME")
    path = Path(configured).expanduser() if configured else _DEFAULT.expanduser()
    return private_dir(path)


def private_dir(path: Path) -> Path:
    """``path`` created with owner-only permissions (parents as needed)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def logs_dir() -> Path:
    return private_dir(data_dir() / "logs")


def profiles_dir() -> Path:
    return private_dir(data_dir() / "profiles")


def jobs_dir() -> Path:
    """Per-backup working folders (saved state, scan list, database dump)."""
    return private_dir(data_dir() / "jobs")


def records_path() -> Path:
    return data_dir() / "records.sqlite"
