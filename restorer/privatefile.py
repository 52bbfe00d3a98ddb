"""Writing a private file (state, profiles, records of secrets) whole, durably, owner-only.

A temporary file with a unique name is written beside the target (mode 0600 from its
creation), flushed to disk, renamed over the target, and the folder entry synced: a
reader, or a process started after a kill, sees the old content or the new one, never
a mix, and no other user can read either.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_private_file(path: Path, data: bytes) -> None:
    """Replaces ``path`` with ``data`` atomically and durably, mode 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_private_json(path: Path, data) -> None:
    """``data`` as JSON (sorted keys, so equal states give equal bytes) in ``path``."""
    write_private_file(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
