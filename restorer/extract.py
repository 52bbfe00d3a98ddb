"""Safe extraction of any archive sitepack reads (``sitepack extract``, kickstart, restore).

Safety: every entry is checked before anything is written for it. Refused, with an
``UnsafeEntryError`` naming the entry: absolute paths, ``..`` or ``.`` components,
drive letters, backslashes, NUL bytes, device/fifo/socket modes, symlinks whose target
resolves outside the target directory (resolution follows the symlinks this
extraction created, so ``a -> .`` then ``b -> a/a/..`` is caught), entries below a
symlink, and paths that conflict with an earlier entry (the same path twice, a file
where a directory is needed or the reverse). Existing directories on the way are
checked once (``lstat``) so that a symlink already in the target cannot redirect writes.

Writing: each file goes to a temporary name beside it (``.NAME.sitepack-tmp``) and is
renamed when complete, after its mode and mtime were set on the open descriptor, so a
file with its real name is always complete. On any error the temporary file is
removed. Directory modes and mtimes are applied at the end, deepest first (a read-only
directory must not block its contents). setuid/setgid bits are never restored.

Integrity: file data is hashed while written; when the archive carries a manifest
(``installation/sitepack-manifest.jsonl``, extracted like any other file) every
extracted entry is compared with it at the end. Files that do not match are deleted and
the extraction fails naming them.

``server_files_as_bak=True`` (used by the restore) writes ``.htaccess``, ``web.config``,
``.user.ini`` and ``php.ini`` found at the archive's root as ``<name>.bak``: they could
break the half-restored site or lock the restore wizard out until the finish step puts
them back. ``"auto"`` (``sitepack extract``, the kickstart) does so only for site
bundles, archives whose ``installation/`` holds a restorer or a database dump (sitepack's
and Akeeba's full backups): a plain archive gets its files under their own names. Whenever a bundle's files were renamed, ``installation/renamed-files.json`` lists
them (original names), so the finish step renames exactly those back.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import stat
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from restorer.errors import ArchiveError, UnsafeEntryError
from restorer.formats import MANIFEST_PATH, open_archive
from restorer.formats.base import SMALL_ENTRY, ArchiveReader, Entry, EntryType
from restorer.manifest import ManifestReader
from restorer.progress import Progress
from restorer.verify import ManifestComparison, Observed, observe

#: Written as ``<name>.bak`` at the site root during a restore (issue 7, D1).
SERVER_FILES = (".htaccess", "web.config", ".user.ini", "php.ini")
TEMP_SUFFIX = ".sitepack-tmp"
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_KEPT_PERMISSIONS = 0o1777   # no setuid/setgid from an archive
_MAX_LINK_DEPTH = 40
#: Small files are written by a few threads: creating a file is mostly waiting for
#: the file system, and several creations in flight overlap that wait.
_WRITER_THREADS = 4
_MAX_PENDING_BYTES = 32 * 1024 * 1024
_MAX_PENDING_FILES = 512


@dataclass
class ExtractReport:
    entries: int = 0
    bytes: int = 0
    manifest_checked: bool = False
    format: str = ""
    renamed: list[str] = field(default_factory=list)


#: Inside ``installation/``: the server files this extraction wrote as ``*.bak``.
RENAMED_LIST = "renamed-files.json"
#: Files under ``installation/`` that make an archive a site bundle to restore.
_BUNDLE_MARKERS = ("restore.py", "sql/databases.json")


def check_entry_path(path: str) -> None:
    """Raises ``UnsafeEntryError`` unless ``path`` is a plain relative path."""
    if path and "\x00" not in path and "\\" not in path and path[0] != "/" and not _DRIVE_RE.match(path):
        wrapped = "/" + path + "/"
        if "/../" not in wrapped and "/./" not in wrapped and "//" not in wrapped:
            return
    if not path:
        raise UnsafeEntryError("refusing an entry with an empty name: the archive is damaged or malicious")
    if "\x00" in path:
        raise UnsafeEntryError(f"refusing entry {path!r}: its name contains a NUL byte")
    if "\\" in path:
        raise UnsafeEntryError(f"refusing entry {path!r}: its name contains a backslash")
    if path.startswith("/"):
        raise UnsafeEntryError(f"refusing entry {path!r}: it has an absolute path")
    if _DRIVE_RE.match(path):
        raise UnsafeEntryError(f"refusing entry {path!r}: it starts with a drive letter")
    parts = path.split("/")
    if ".." in parts:
        raise UnsafeEntryError(f"refusing entry {path!r}: it contains '..' (it would write "
                               "outside the target folder)")
    if any(part in ("", ".") for part in parts):
        raise UnsafeEntryError(f"refusing entry {path!r}: it contains an empty or '.' component")


def _check_kind(entry: Entry) -> None:
    expected = {EntryType.DIR: stat.S_IFDIR, EntryType.FILE: stat.S_IFREG,
                EntryType.SYMLINK: stat.S_IFLNK}[entry.type]
    kind = stat.S_IFMT(entry.mode)
    if kind != expected:
        what = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
                stat.S_IFIFO: "a fifo", stat.S_IFSOCK: "a socket"}.get(kind, "of an unknown kind")
        raise UnsafeEntryError(f"refusing entry {entry.path!r}: it is {what} "
                               f"(mode {entry.mode:o}); only files, directories and symlinks are extracted")


class _Tree:
    """What this extraction has put where, to catch conflicts and escaping symlinks."""

    def __init__(self):
        self.kinds: dict[str, EntryType] = {}      # explicit entries and implied parent dirs
        self.links: dict[str, str] = {}

    def claim(self, entry: Entry, out_path: str) -> None:
        parts = out_path.split("/")
        parent = out_path.rpartition("/")[0]
        # a parent already known as a directory had its own parents checked
        known = not parent or self.kinds.get(parent) is EntryType.DIR
        for depth in range(1, 0 if known else len(parts)):
            parent = "/".join(parts[:depth])
            kind = self.kinds.get(parent)
            if kind is EntryType.SYMLINK:
                raise UnsafeEntryError(f"refusing entry {entry.path!r}: {parent!r} is a symlink "
                                       "in this archive, and nothing is written through a symlink")
            if kind is EntryType.FILE:
                raise UnsafeEntryError(f"refusing entry {entry.path!r}: {parent!r} is a file in "
                                       "this archive, not a directory (conflicting entries)")
            self.kinds[parent] = EntryType.DIR
        previous = self.kinds.get(out_path)
        if previous is not None and not (previous is EntryType.DIR and entry.is_dir):
            raise UnsafeEntryError(f"refusing entry {entry.path!r}: the archive has this path "
                                   "more than once (conflicting entries)")
        if entry.is_symlink:
            self.check_link(entry, out_path)
            self.links[out_path] = entry.target
        self.kinds[out_path] = entry.type

    def check_link(self, entry: Entry, out_path: str) -> None:
        target = entry.target or ""
        if not target or "\x00" in target:
            raise UnsafeEntryError(f"refusing symlink {entry.path!r}: its target is empty or has a NUL byte")
        if target.startswith("/") or _DRIVE_RE.match(target) or "\\" in target:
            raise UnsafeEntryError(f"refusing symlink {entry.path!r}: it points to {target!r}, "
                                   "outside the target folder")
        if self.resolve(posixpath.dirname(out_path), target, 0) is None:
            raise UnsafeEntryError(f"refusing symlink {entry.path!r}: it points to {target!r}, "
                                   "outside the target folder")

    def resolve(self, base: str, target: str, depth: int) -> str | None:
        """The in-tree path ``target`` (relative to ``base``) reaches, or ``None`` if outside.

        A symlink loop never resolves (the system answers ELOOP), so it cannot lead
        outside: it counts as inside.
        """
        if depth > _MAX_LINK_DEPTH:
            return base
        current = [p for p in base.split("/") if p]
        for part in target.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not current:
                    return None
                current.pop()
                continue
            current.append(part)
            here = "/".join(current)
            if here in self.links:
                resolved = self.resolve("/".join(current[:-1]), self.links[here], depth + 1)
                if resolved is None:
                    return None
                current = [p for p in resolved.split("/") if p]
        return "/".join(current)


class Extractor:
    """Extracts one archive's entries into ``dest`` (see the module docstring)."""

    def __init__(self, dest: Path | str, *, progress: Progress | None = None,
                 server_files_as_bak: bool | str = False):
        self.dest = Path(dest)
        self._root = os.fspath(self.dest)
        self.progress = progress
        self.server_files_as_bak = server_files_as_bak
        self.tree = _Tree()
        self.report = ExtractReport()
        self._checked_dirs: set[str] = set()
        self._dir_meta: list[tuple[str, int, int | None]] = []
        self._observed: dict[str, Observed] = {}
        self._renamed: set[str] = set()
        self._umask = _current_umask()
        self._pending: deque = deque()
        self._pending_bytes = 0

    def run(self, reader: ArchiveReader) -> ExtractReport:
        self.report.format = reader.format
        try:
            self.dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"cannot create the target folder {self.dest}: {exc.strerror}") from None
        if not self.dest.is_dir():
            raise ArchiveError(f"{self.dest} is not a folder: give an existing or new folder")
        if self.progress is not None:
            self.progress.update(0, total=reader.total_size)
        manifest = None
        self._pool = ThreadPoolExecutor(_WRITER_THREADS, thread_name_prefix="sitepack-extract")
        try:
            for entry, chunks in reader.entries():
                out_path = self._out_path(entry)
                if entry.is_dir:
                    self._make_dir(entry, out_path)
                    self._observed[entry.path] = observe(entry, None)
                elif entry.is_symlink:
                    self._make_symlink(entry, out_path)
                    self._observed[entry.path] = observe(
                        entry, hashlib.sha256(entry.target.encode("utf-8")).hexdigest())
                elif entry.size <= SMALL_ENTRY and entry.path != MANIFEST_PATH:
                    self._write_small(entry, out_path, b"".join(chunks))
                else:
                    if entry.path == MANIFEST_PATH:
                        self._wait_writes(0)     # every earlier entry observed first
                        comparison = ManifestComparison(self._observed)
                        manifest = ManifestReader(on_record=comparison.check)
                        manifest_entry = entry
                    digest = self._write_file(entry, out_path, chunks, manifest)
                    self._observed[entry.path] = observe(entry, digest)
                self.report.entries += 1
                self.report.bytes += entry.size
            self._wait_writes(0)
        finally:
            # Writes already handed over finish (or fail and clean up after themselves)
            # before the error, if any, goes up: nothing is left half-written.
            self._pool.shutdown(wait=True)
            self._pending.clear()
        self._apply_dir_meta()
        if manifest is not None:
            manifest.check_own_entry(manifest_entry.mode, manifest_entry.mtime)
            self._check_manifest(manifest, comparison)
        elif reader.declares_manifest:
            raise ArchiveError(f"the archive is damaged: its header says it carries a manifest "
                               f"({MANIFEST_PATH}) but there is none; copy or download it again")
        if self._renamed:
            self._settle_server_files()
        return self.report

    def _settle_server_files(self) -> None:
        installation = os.path.join(self._root, "installation")
        if any(os.path.isfile(os.path.join(installation, marker)) for marker in _BUNDLE_MARKERS):
            with open(os.path.join(installation, RENAMED_LIST), "w", encoding="utf-8") as listed:
                json.dump(sorted(self._renamed), listed)
        elif self.server_files_as_bak == "auto":
            # Not a site bundle: nothing will put them back, so they keep their names.
            for path in sorted(self._renamed):
                os.replace(os.path.join(self._root, path + ".bak"), os.path.join(self._root, path))
            self._renamed.clear()
            self.report.renamed.clear()

    def _write_small(self, entry: Entry, out_path: str, data: bytes) -> None:
        """Hands a small file to the writer threads (its folder exists before)."""
        final, temp = self._parent_ready(out_path)
        future = self._pool.submit(self._write_whole, entry, final, temp, data)
        self._pending.append((entry, out_path, future, len(data)))
        self._pending_bytes += len(data)
        if self.progress is not None:
            self.progress.update(advance=len(data), item=entry.path)
        self._wait_writes(_MAX_PENDING_BYTES)

    def _wait_writes(self, limit: int) -> None:
        pending = self._pending
        while pending and (limit == 0 or self._pending_bytes > limit
                           or len(pending) > _MAX_PENDING_FILES or pending[0][2].done()):
            entry, out_path, future, size = pending.popleft()
            self._pending_bytes -= size
            self._observed[entry.path] = observe(entry, future.result())

    def _write_whole(self, entry: Entry, final: str, temp: str, data: bytes) -> str:
        """Writer thread: one small file, temp name then rename; its SHA-256."""
        return self._write_chunks(entry, final, temp, (data,))

    def _write_chunks(self, entry: Entry, final: str, temp: str, chunks, on_chunk=None) -> str:
        """Writes ``chunks`` under ``temp``, sets mode and mtime on the open descriptor,
        renames to ``final``; returns the SHA-256. On any error the temp file is removed."""
        mode = entry.mode & _KEPT_PERMISSIONS
        digest = hashlib.sha256()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode | 0o600)
        try:
            for chunk in chunks:
                digest.update(chunk)
                if on_chunk is not None:
                    on_chunk(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            if (mode | 0o600) & ~self._umask != mode:
                os.fchmod(fd, mode)
            if entry.mtime is not None:
                os.utime(fd, (entry.mtime, entry.mtime))
            os.close(fd)
            fd = -1
            _replace(temp, final, entry.path)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            _unlink_quietly(temp)
            raise
        return digest.hexdigest()

    # -- per entry ---------------------------------------------------------------------
    def _out_path(self, entry: Entry) -> str:
        check_entry_path(entry.path)
        _check_kind(entry)
        out_path = entry.path
        if self.server_files_as_bak and out_path in SERVER_FILES and not entry.is_dir:
            out_path += ".bak"
            self.report.renamed.append(entry.path)
            self._renamed.add(entry.path)
        self.tree.claim(entry, out_path)
        return out_path

    def _parent_ready(self, out_path: str) -> tuple[str, str]:
        """Creates the parent directories of ``out_path`` (checked once each).

        Returns the full path and the temporary name to write it under.
        """
        parent, name = posixpath.split(out_path)
        if parent and parent not in self._checked_dirs:
            self._ensure_dir(parent)
        folder = os.path.join(self._root, parent) if parent else self._root
        return os.path.join(folder, name), os.path.join(folder, "." + name[:200] + TEMP_SUFFIX)

    def _ensure_dir(self, rel: str) -> None:
        parent = posixpath.dirname(rel)
        if parent and parent not in self._checked_dirs:
            self._ensure_dir(parent)
        full = os.path.join(self._root, rel)
        try:
            os.mkdir(full, 0o700 | 0o777 & ~self._umask)
        except FileExistsError:
            info = os.lstat(full)
            if not stat.S_ISDIR(info.st_mode):
                kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a directory"
                raise UnsafeEntryError(f"refusing to write into {rel!r}: it already exists in "
                                       f"the target folder and is {kind}") from None
        self._checked_dirs.add(rel)

    def _make_dir(self, entry: Entry, out_path: str) -> None:
        self._ensure_dir(out_path)
        self._dir_meta.append((out_path, entry.mode, entry.mtime))

    def _make_symlink(self, entry: Entry, out_path: str) -> None:
        final, temp = self._parent_ready(out_path)
        _unlink_quietly(temp)
        os.symlink(entry.target, temp)
        try:
            if entry.mtime is not None:
                os.utime(temp, (entry.mtime, entry.mtime), follow_symlinks=False)
            _replace(temp, final, entry.path)
        except BaseException:
            _unlink_quietly(temp)
            raise

    def _write_file(self, entry: Entry, out_path: str, chunks, manifest: ManifestReader | None) -> str:
        final, temp = self._parent_ready(out_path)
        progress = self.progress

        def on_chunk(chunk: bytes) -> None:
            if manifest is not None:
                manifest.feed(chunk)
            if progress is not None:
                progress.update(advance=len(chunk), item=entry.path)

        return self._write_chunks(entry, final, temp, chunks, on_chunk)

    # -- at the end ---------------------------------------------------------------------
    def _apply_dir_meta(self) -> None:
        for out_path, mode, mtime in sorted(self._dir_meta, key=lambda item: -item[0].count("/")):
            full = os.path.join(self._root, out_path)
            os.chmod(full, mode & _KEPT_PERMISSIONS)
            if mtime is not None:
                os.utime(full, (mtime, mtime))

    def _check_manifest(self, manifest: ManifestReader, comparison: ManifestComparison) -> None:
        manifest.finish()
        problems = comparison.finish()
        if not problems:
            self.report.manifest_checked = True
            return
        for path, _ in problems:
            out_path = path + ".bak" if path in self._renamed else path
            if self.tree.kinds.get(out_path) is EntryType.FILE:
                _unlink_quietly(os.path.join(self._root, out_path))
        path, problem = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArchiveError(f"the archive is damaged: {path}: {problem}{more}; the damaged files "
                           "were removed, copy or download the archive again")


def extract(archive: Path | str, dest: Path | str, *, password: str | None = None,
            progress: Progress | None = None, server_files_as_bak: bool | str = False) -> ExtractReport:
    """Extracts the archive (any part of it) into ``dest``; see the module docstring."""
    with open_archive(archive, password) as reader:
        return extract_reader(reader, dest, progress=progress,
                              server_files_as_bak=server_files_as_bak)


def extract_reader(reader: ArchiveReader, dest: Path | str, *, progress: Progress | None = None,
                   server_files_as_bak: bool | str = False) -> ExtractReport:
    """Like ``extract`` for an archive already opened."""
    return Extractor(dest, progress=progress, server_files_as_bak=server_files_as_bak).run(reader)


def _replace(temp: str, final: str, name: str) -> None:
    try:
        os.replace(temp, final)
    except IsADirectoryError:
        raise UnsafeEntryError(f"cannot extract {name!r}: a directory with that name already "
                               "exists in the target folder") from None


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
