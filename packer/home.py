"""The tool's data directory: records, profiles, logs, the state of running backups.

``$SITEPACK_HOME`` when set (tests set it per test), else ``~/.local/share/sitepack``.
Everything in it is private to the owner: directories 0700, files 0600, because state
files may hold a derived archive key and profiles a default archive password.
"""

from __future__ import annotations

from pathlib import Path

from restorer.private import data_home
from restorer.private import make_private_dir as private_dir

__all__ = ["data_dir", "private_dir", "logs_dir", "profiles_dir", "jobs_dir", "records_path"]


def data_dir() -> Path:
    """The data directory (one rule, shared with the restorer), created (0700) when missing."""
    return private_dir(data_home())


def logs_dir() -> Path:
    return private_dir(data_dir() / "logs")


def profiles_dir() -> Path:
    return private_dir(data_dir() / "profiles")


def jobs_dir() -> Path:
    """Per-backup working folders (saved state, scan list, database dump)."""
    return private_dir(data_dir() / "jobs")


def records_path() -> Path:
    return data_dir() / "records.sqlite"
