"""The tool's data directory: records, profiles, logs, the state of running backups.

``$SITEPACK_HOME`` when set (tests set it per test), else ``~/.local/share/sitepack``.
Everything in it is private to the owner: directories 0700, files 0600, because state
files may hold a derived archive key and profiles a default archive password.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from restorer.private import data_home
from restorer.private import make_private_dir as private_dir


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


def write_private_file(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically and durably, mode 0600.

    A temporary file beside it is written, flushed to disk, then renamed over ``path``
    and the directory entry synced, so a reader (or a process started after a kill)
    sees either the old or the new content, never a mix.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_private_json(path: Path, data) -> None:
    write_private_file(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
