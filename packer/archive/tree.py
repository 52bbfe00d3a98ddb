"""``sitepack pack``: one directory tree into one archive (no site logic, no database).

The tree is walked in sorted order (the same tree always gives the same entry order)
and streamed into the writer. Every directory gets an entry (so empty directories and
directory modes survive), symlinks are archived as links, never followed. Special files
(fifos, sockets, devices) and unreadable files are skipped with a warning; the archive
being written, its parts and sidecars are never archived, even when they sit inside
the tree.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from restorer.errors import SitepackError
from restorer.progress import Progress

from . import open_writer
from .base import SourceChangedError


@dataclass
class PackReport:
    parts: list[Path] = field(default_factory=list)
    entries: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def tree_size(root: Path) -> int:
    """Bytes of regular files under ``root`` (the progress total)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def pack_tree(root: Path | str, archive: Path | str, fmt: str, *, part_size: int | None = None,
              password: str | None = None, progress: Progress | None = None) -> PackReport:
    """Packs every entry under ``root`` into ``archive`` (manifest included)."""
    root = Path(root)
    archive = Path(archive).absolute()
    if not root.is_dir():
        raise SitepackError(f"{root} is not a folder: give the folder to pack")
    # The writer is opened first: an encrypted one derives its key (a quarter second of
    # CPU) while the tree is measured for the progress total.
    writer = open_writer(fmt, archive, part_size=part_size, password=password)
    report = PackReport()
    own_files = re.compile(re.escape(archive.with_suffix("").name)
                           + r"\.(?:[a-z]\d{2,}|" + re.escape(archive.suffix[1:]) + r")(?:\..*-tmp)?$")
    try:
        if progress is not None and progress.enabled:  # a quiet run needs no total
            progress.update(0, total=tree_size(root))
        _walk(root.absolute(), "", writer, report, progress, archive.parent, own_files)
        report.parts = writer.close()
    except BaseException:
        writer.abort()
        raise
    return report


def _walk(folder: Path, prefix: str, writer, report: PackReport, progress: Progress | None,
          archive_dir: Path, own_files: re.Pattern) -> None:
    try:
        with os.scandir(folder) as scan:
            names = sorted(scan, key=lambda item: item.name)
    except OSError as exc:
        report.warnings.append(f"cannot read folder {prefix or '.'}: {exc.strerror}; skipped")
        return
    for item in names:
        rel = prefix + item.name
        if folder == archive_dir and own_files.match(item.name):
            continue
        if not _is_utf8(item.name):
            report.warnings.append(f"{rel!r} is not a UTF-8 name, which archives cannot hold; skipped")
            continue
        try:
            info = item.stat(follow_symlinks=False)
        except OSError as exc:
            report.warnings.append(f"cannot read {rel}: {exc.strerror}; skipped")
            continue
        mode, mtime = info.st_mode, int(info.st_mtime)
        if stat.S_ISDIR(mode):
            writer.add_dir(rel, mode, mtime)
            report.entries += 1
            _walk(Path(item.path), rel + "/", writer, report, progress, archive_dir, own_files)
        elif stat.S_ISLNK(mode):
            target = os.readlink(item.path)
            if not _is_utf8(target):
                report.warnings.append(f"symlink {rel} points to a non-UTF-8 name; skipped")
                continue
            writer.add_symlink(rel, target, mode, mtime)
            report.entries += 1
        elif stat.S_ISREG(mode):
            try:
                writer.add_file(rel, item.path, mode=mode, mtime=mtime, size=info.st_size)
            except (OSError, SourceChangedError) as exc:
                report.warnings.append(f"cannot read {rel}: {exc.strerror or exc}; skipped")
                continue
            report.entries += 1
            report.bytes += info.st_size
            if progress is not None:
                progress.update(advance=info.st_size, item=rel)
        else:
            report.warnings.append(f"{rel} is not a file, folder or symlink (mode {mode:o}); skipped")


def _is_utf8(name: str) -> bool:
    """Names the file system gave with undecodable bytes (surrogate escapes) are not."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
