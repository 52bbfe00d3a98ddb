"""Helpers for the JPS tests: a real tree on disk, archived and read back."""

from __future__ import annotations

import os
import random
from pathlib import Path

from restorer.formats import open_archive
from restorer.formats.base import MANIFEST_PATH

MIB = 1024 * 1024


def make_tree(root: Path) -> None:
    """Files (empty, small, > 1 MiB compressible and not), symlinks, empty dirs,
    non-ASCII names, several modes and mtimes."""
    rng = random.Random(7)
    files = {
        "index.php": (b"<?php\necho 'hello';\n" * 3000, 0o644),
        "empty.txt": (b"", 0o600),
        "bin/run.sh": (b"#!/bin/sh\nexit 0\n", 0o755),
        "media/photo.jpg": (rng.randbytes(2 * MIB + 12345), 0o644),
        "installation/sql/site.sql": (b"INSERT INTO `#__x` VALUES (1,'abc');\n" * 60000, 0o640),
        "ünïcødé/ファイル €.txt": ("grüße ".encode() * 500, 0o644),
    }
    for index, (name, (data, mode)) in enumerate(sorted(files.items())):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
        os.utime(path, (1_600_000_000 + index, 1_600_000_000 + index * 1000))
    (root / "cache" / "empty").mkdir(parents=True)
    (root / "tmp").mkdir()
    os.symlink("index.php", root / "link-to-index")
    os.symlink("../index.php", root / "media" / "up")
    for name in ("cache/empty", "tmp"):
        os.utime(root / name, (1_500_000_000, 1_500_000_000))


def add_tree(writer, root: Path) -> dict:
    """Adds every file, symlink and empty directory under ``root``; returns what a
    reader must give back: path -> (type name, mode, mtime, bytes)."""
    expected = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        for name in sorted(filenames + [d for d in dirnames if (base / d).is_symlink()]):
            path = base / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if path.is_symlink():
                target = os.readlink(path)
                writer.add_symlink(rel, target, mode=st.st_mode, mtime=int(st.st_mtime))
                expected[rel] = ("SYMLINK", st.st_mode, int(st.st_mtime), target.encode())
            else:
                writer.add_file(rel, path, mode=st.st_mode, mtime=int(st.st_mtime))
                expected[rel] = ("FILE", st.st_mode, int(st.st_mtime), path.read_bytes())
        if not dirnames and not filenames and rel_dir != ".":
            st = base.stat()
            writer.add_dir(rel_dir, mode=st.st_mode, mtime=int(st.st_mtime))
            expected[rel_dir] = ("DIR", st.st_mode, int(st.st_mtime), b"")
    return expected


def read_back(archive: Path, password: str) -> dict:
    got = {}
    with open_archive(archive, password) as reader:
        for entry, chunks in reader.entries():
            data = b"".join(chunks)
            if entry.path == MANIFEST_PATH:
                continue
            assert entry.size == len(data)
            if entry.is_symlink:
                assert entry.target.encode() == data
            got[entry.path] = (entry.type.name, entry.mode, entry.mtime, data)
    return got


def read_everything(archive: Path, password: str) -> int:
    """Opens and reads every byte (what verify and extract do); returns the entry count."""
    count = 0
    with open_archive(archive, password) as reader:
        for _, chunks in reader.entries():
            for _ in chunks:
                pass
            count += 1
    return count
