"""Helpers for archive tests: build a tree on disk from a model, read one back."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

PASSWORD = "correct horse battery staple"
ENCRYPTED = ("jps", "jps2")
SUFFIX = {"jpa": ".jpa", "zip": ".zip", "jps": ".jps", "jps2": ".jps"}


def noise(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def password_for(fmt: str) -> str | None:
    return PASSWORD if fmt in ENCRYPTED else None


def build_tree(root: Path, model: dict) -> None:
    """``model``: path -> ("dir", mode, mtime) | ("file", mode, mtime, bytes) |
    ("symlink", mtime, target). Parents come before children in sorted order."""
    root.mkdir(parents=True, exist_ok=True)
    for path in sorted(model, key=lambda p: p.count("/")):
        spec = model[path]
        full = root / path
        if spec[0] == "dir":
            full.mkdir(exist_ok=True)
        elif spec[0] == "file":
            full.write_bytes(spec[3])
            os.chmod(full, spec[1])
            os.utime(full, (spec[2], spec[2]))
        else:
            os.symlink(spec[2], full)
            os.utime(full, (spec[1], spec[1]), follow_symlinks=False)
    for path in sorted((p for p in model if model[p][0] == "dir"), key=lambda p: -p.count("/")):
        os.chmod(root / path, model[path][1])
        os.utime(root / path, (model[path][2], model[path][2]))


def snapshot(root: Path, skip: tuple[str, ...] = ("installation",)) -> dict:
    """Everything a round trip must keep: kind, permission bits, mtime, bytes or target."""
    found = {}
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        for name in dirs + files:
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            if rel.split("/")[0] in skip:
                continue
            info = os.lstat(os.path.join(folder, name))
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("symlink", int(info.st_mtime), os.readlink(os.path.join(folder, name)))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("dir", stat.S_IMODE(info.st_mode), int(info.st_mtime))
            else:
                found[rel] = ("file", stat.S_IMODE(info.st_mode), int(info.st_mtime),
                              Path(folder, name).read_bytes())
    return found
