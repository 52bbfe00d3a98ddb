"""Safe extraction of any archive sitepack reads (``sitepack extract``, kickstart, restore).

Safety: every entry is checked before anything is written for it. Refused, with an
``UnsafeEntryError`` naming the entry: absolute paths, ``..`` or ``.`` components,
drive letters, backslashes, NUL bytes, device/fifo/socket modes, symlinks whose target
resolves outside the target directory, entries below a
symlink, and paths that conflict with an earlier entry (the same path twice, a file
where a directory is needed or the reverse). Existing directories on the way are
checked once (``lstat``) so that a symlink already in the target cannot redirect writes.
Symlinks are checked twice: each when it comes (against the links made before it), and
all of them once the whole tree is known, since a link made later can change where an
earlier one leads (``rootfs -> c/d/../..`` before ``c/d -> ../..``); if any then leads
outside, every such link is removed and the extraction fails naming it.

Private entries (``private_dir``, see ``restorer/private.py``): everything a site
bundle's ``installation/`` holds but the restorer's code (dump, ``databases.json``,
installer password hash, manifest, ...) is written straight into the private folder,
owner-only (folders 0700, files 0600), never into the target, not even for a moment.
If the archive turns out not to be a site bundle, they are moved into the target with
their own modes at the end (a plain archive keeps its ``installation/`` folder).

Writing (``filewriter.py``): each file goes to a temporary name beside it
(``.NAME.sitepack-tmp``) and is renamed when complete, after its mode and mtime were set
on the open descriptor, so a file with its real name is always complete. On any error
the temporary file is removed, and a failure to write (full disk, permissions) is one
clear ``TargetWriteError`` naming the file. Small files are written (and, while they
keep up, decoded, hashed and given their folders) by child processes while this one
reads on; large ones are streamed here. Directory modes and mtimes are
applied at the end, deepest first (a read-only directory must not block its contents).
setuid/setgid bits are never restored.

Integrity: file data is hashed while written; when the archive carries a manifest
(``installation/sitepack-manifest.tsv.gz``, extracted like any other file) every
extracted entry is compared with it at the end. Files that do not match are deleted and
the extraction fails naming them.

``server_files_as_bak=True`` (used by the restore) writes ``.htaccess``, ``web.config``,
``.user.ini`` and ``php.ini`` found at the archive's root as ``<name>.bak``: they could
break the half-restored site or lock the restore wizard out until the finish step puts
them back. ``"auto"`` (``sitepack extract``, the kickstart) does so only for site
bundles, archives whose ``installation/`` holds a restorer or a database dump (sitepack's
and Akeeba's full backups): a plain archive gets its files under their own names. Whenever a bundle's files were renamed, ``installation/renamed-files.json`` lists
them (original names), so the finish step renames exactly those back. It, and the list
of archive parts read (``archive-parts.json``), lie in the private folder.

Every entry name in a message is shown with ``shown_name`` (control characters escaped).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import re
import stat
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from restorer.bundle import (ARCHIVE_PARTS, DATABASES_JSON, ENTRY_SCRIPT, INSTALLATION, SQL_DIR, is_private,
                             private_path)
from restorer.errors import ArchiveError, TargetWriteError, UnsafeEntryError
from restorer.extract.filewriter import (KEPT_PERMISSIONS, FileWriter, WriteFailure, current_umask,
                                         temp_name, unlink_quietly, write_file)
from restorer.extract.manifest import ManifestReader
from restorer.extract.textsafe import shown_name
from restorer.extract.verify import ManifestComparison, Observed, observe
from restorer.formats import MANIFEST_PATH, MANIFEST_VERSIONS, open_archive
from restorer.formats.base import SMALL_ENTRY, ArchiveReader, Entry, EntryData, EntryType
from restorer.private import make_private_dir, restore_lock
from restorer.privatefile import write_private_json
from restorer.progress import Progress

#: Written as ``<name>.bak`` at the site root during a restore (issue 7, D1).
SERVER_FILES = (".htaccess", "web.config", ".user.ini", "php.ini")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_MAX_LINKS = 40  # Linux's MAXSYMLINKS


@dataclass
class ExtractReport:
    entries: int = 0
    bytes: int = 0
    manifest_checked: bool = False
    format: str = ""
    renamed: list[str] = field(default_factory=list)
    private_dir: str | None = None   # where a site bundle's private entries went


#: Inside ``installation/``: the server files this extraction wrote as ``*.bak``.
RENAMED_LIST = "renamed-files.json"
#: Files under ``installation/`` that make an archive a site bundle to restore.
_BUNDLE_MARKERS = (ENTRY_SCRIPT, f"{SQL_DIR}/{DATABASES_JSON}")


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
        if self.resolve(posixpath.dirname(out_path), target) is None:
            raise UnsafeEntryError(f"refusing symlink {entry.path!r}: it points to {target!r}, "
                                   "outside the target folder")

    def escaping_links(self) -> list[str]:
        """The links whose final resolution, with every link of the archive known, leaves
        the target folder."""
        return [path for path, target in self.links.items()
                if self.resolve(posixpath.dirname(path), target) is None]

    def resolve(self, base: str, target: str) -> str | None:
        """The in-tree path ``target`` (relative to ``base``) reaches, or ``None`` if outside.

        Like the system, it follows at most ``_MAX_LINKS`` links in all: beyond that the
        system answers ELOOP, so such a path leads nowhere, and counts as inside. (The
        total, not the nesting depth, bounds the work: ``a -> a/a`` twice nested would
        otherwise take exponential time.)
        """
        try:
            return self._walk(base, target, [0])
        except _TooManyLinks:
            return base

    def _walk(self, base: str, target: str, followed: list[int]) -> str | None:
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
                followed[0] += 1
                if followed[0] > _MAX_LINKS:
                    raise _TooManyLinks
                resolved = self._walk("/".join(current[:-1]), self.links[here], followed)
                if resolved is None:
                    return None
                current = [p for p in resolved.split("/") if p]
        return "/".join(current)


class _TooManyLinks(Exception):
    """More links on one path than the system follows (ELOOP)."""


class Extractor:
    """Extracts one archive's entries into ``dest`` (see the module docstring)."""

    def __init__(self, dest: Path | str, *, progress: Progress | None = None,
                 server_files_as_bak: bool | str = False, private_dir: Path | None = None):
        self.dest = Path(dest)
        self._root = os.fspath(self.dest)
        self._private = os.fspath(private_dir) if private_dir is not None else None
        self._private_made = False
        self._private_modes: dict[str, int] = {}   # private path -> the archive's mode
        self.progress = progress
        self.server_files_as_bak = server_files_as_bak
        self.tree = _Tree()
        self.report = ExtractReport()
        self._checked_dirs: set[str] = set()   # a directory or absent (see _ensure_dir)
        self._present_dirs: set[str] = set()   # checked and there
        self._dir_meta: list[tuple[str, int, int | None]] = []
        self._observed: dict[str, Observed] = {}
        self._renamed: set[str] = set()
        self._epoch_links: list[str] = []          # symlinks whose mtime is 0
        self._umask = current_umask()

    def run(self, reader: ArchiveReader) -> ExtractReport:
        try:
            self._extract_all(reader)
        except BaseException:
            if self._renamed:  # a failed extraction puts them back as a finished one does
                with contextlib.suppress(OSError):
                    self._settle_server_files()
            raise
        self._apply_epoch_times()
        if self._renamed:
            self._settle_server_files()
        return self.report

    def _extract_all(self, reader: ArchiveReader) -> None:
        """Every entry, then the manifest check."""
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
        keys = reader.handover_keys()
        module = type(reader).__module__
        decoding = (module, keys) if keys is not None and hasattr(sys.modules[module], "decoder") else None
        self._files = FileWriter(self._umask, decoding=decoding)
        try:
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
                    elif entry.size <= SMALL_ENTRY and entry.path not in MANIFEST_VERSIONS:
                        self._write_small(entry, out_path, chunks)
                    else:
                        if entry.path in MANIFEST_VERSIONS:
                            self._files.close()     # every earlier file written first
                            comparison = ManifestComparison(self._observed, entry.path)
                            manifest = ManifestReader(comparison.check, MANIFEST_VERSIONS[entry.path])
                            manifest_entry = entry
                        digest = self._write_file(entry, out_path, chunks, manifest)
                        self._observed[entry.path] = observe(entry, digest)
                    self.report.entries += 1
                    self.report.bytes += entry.size
            except BaseException:
                # Files already handed over are written (or fail and clean up after
                # themselves) before the error goes up: nothing is left half-written.
                self._files.abort()
                raise
            self._files.close()
            self._refuse_escaping_links()
            if self._private_made and not self._is_bundle():
                self._unmap_private()
            self._apply_dir_meta()
        except WriteFailure as failure:
            raise self._write_error(failure) from None
        if self._private_made:
            write_private_json(Path(self._private, ARCHIVE_PARTS),
                              [os.path.abspath(part) for part in reader.parts])
            self.report.private_dir = self._private
        if manifest is not None:
            manifest.check_own_entry(manifest_entry.mode, manifest_entry.mtime)
            self._check_manifest(manifest, comparison)
        elif reader.declares_manifest:
            raise ArchiveError(f"the archive is damaged: its header says it carries a manifest "
                               f"({MANIFEST_PATH}) but there is none; copy or download it again")

    def _full(self, out_path: str) -> str:
        """Where ``out_path`` (relative to the target) is written: the private folder for
        private entries."""
        if self._private is not None and is_private(out_path):
            return private_path(self._private, out_path)
        return self._root + "/" + out_path

    def _is_bundle(self) -> bool:
        return any(os.path.isfile(self._full(f"{INSTALLATION}/{marker}")) for marker in _BUNDLE_MARKERS)

    def _refuse_escaping_links(self) -> None:
        escaping = self.tree.escaping_links()
        if not escaping:
            return
        for out_path in escaping:
            unlink_quietly(self._full(out_path))
        more = f" (and {len(escaping) - 1} more, all removed)" if len(escaping) > 1 else " (removed)"
        raise UnsafeEntryError(f"refusing symlink '{shown_name(escaping[0])}': with the archive's "
                               f"other links it points outside the target folder{more}")

    def _unmap_private(self) -> None:
        """Not a site bundle: its ``installation/`` entries go back into the target."""
        public = os.path.join(self._root, INSTALLATION)
        os.makedirs(public, exist_ok=True)
        for name in os.listdir(self._private):
            os.replace(os.path.join(self._private, name), os.path.join(public, name))
        self._private, private = None, self._private
        for out_path, mode in self._private_modes.items():
            if os.path.isfile(self._full(out_path)):
                os.chmod(self._full(out_path), mode & KEPT_PERMISSIONS)
        os.rmdir(private)
        self._private_made = False

    def _settle_server_files(self) -> None:
        if self._is_bundle():
            write_private_json(Path(self._full(f"{INSTALLATION}/{RENAMED_LIST}")), sorted(self._renamed))
        elif self.server_files_as_bak == "auto":
            # Not a site bundle: nothing will put them back, so they keep their names.
            for path in sorted(self._renamed):
                renamed = self._full(path + ".bak")
                if os.path.lexists(renamed):  # not when a failure came first
                    os.replace(renamed, self._full(path))
            self._renamed.clear()
            self.report.renamed.clear()

    def _write_small(self, entry: Entry, out_path: str, chunks) -> None:
        """Hands a small file to the file writer (which makes its folder if missing), as
        stored when a writer process decodes it, else decoded here."""
        final = self._parent_ready(out_path, create=self._files.behind)
        data = chunks.take() if self._files.takes_stored and isinstance(chunks, EntryData) else None
        if data is None:
            data = b"".join(chunks)
        self._files.write(final, data, self._mode(entry, out_path), entry.mtime, partial(self._written, entry))
        if self.progress is not None:
            self.progress.update(advance=entry.size, item=entry.path)

    def _written(self, entry: Entry, sha256: str) -> None:
        self._observed[entry.path] = observe(entry, sha256)

    def _write_error(self, failure: WriteFailure) -> ArchiveError:
        """A ``WriteFailure`` as the message a user can act on."""
        relative = os.path.relpath(failure.filename, self._root) if failure.filename else None
        if relative is None:
            where = f"a file into {self.dest}"
        elif relative.startswith(".."):  # a private entry, outside the target: named in full
            where = shown_name(failure.filename)
        else:
            where = f"{shown_name(relative)} into {self.dest}"
        if failure.step == "rename" and failure.errno == errno.EISDIR:
            return UnsafeEntryError(f"cannot extract {shown_name(relative or '')!r}: a directory with that name "
                                    "already exists in the target folder")
        advice = {errno.ENOSPC: "free some space or extract somewhere else",
                  errno.EDQUOT: "free some space or extract somewhere else",
                  errno.EACCES: "check the permissions of the target folder",
                  errno.EPERM: "check the permissions of the target folder",
                  errno.EROFS: "extract into a writable folder",
                  errno.EFBIG: "the file is larger than this system allows (a file size limit such as "
                               "ulimit -f, or the file system's largest file): raise the limit or "
                               "extract onto another file system"}.get(failure.errno,
                                                                     "check the target folder")
        return TargetWriteError(f"cannot write {where}: {failure.strerror}; "
                                f"{advice}, then extract again")

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
        if self._private is not None and is_private(out_path):
            if entry.is_symlink:
                raise UnsafeEntryError(f"refusing symlink '{shown_name(entry.path)}': a site bundle's "
                                       "installation data is never a symlink")
            if not self._private_made:
                make_private_dir(Path(self._private))
                self._private_made = True
            self._private_modes[out_path] = entry.mode
        return out_path

    def _mode(self, entry: Entry, out_path: str) -> int:
        """The mode to write: the archive's, owner-only in the private folder."""
        if self._private is not None and is_private(out_path):
            return stat.S_IFREG | 0o600
        return entry.mode

    def _parent_ready(self, out_path: str, create: bool = True) -> str:
        """Checks the parent directories of ``out_path`` (once each) and creates them,
        unless ``create`` is false (a file writer creates missing ones); returns the
        full path to write."""
        parent = posixpath.dirname(out_path)
        if parent and parent not in (self._present_dirs if create else self._checked_dirs):
            self._ensure_dir(parent, create)
        return self._full(out_path)

    def _ensure_dir(self, rel: str, create: bool) -> None:
        """Checks that ``rel`` is a directory or absent (nothing else may be in the way)
        and, if ``create``, that it exists. Otherwise creating it is left to whoever
        writes into it first: the file writer processes, unless they are behind."""
        parent = posixpath.dirname(rel)
        if parent and parent not in (self._present_dirs if create else self._checked_dirs):
            self._ensure_dir(parent, create)
        full = self._full(rel)
        try:
            if create:
                os.mkdir(full, 0o700 | 0o777 & ~self._umask if full.startswith(self._root + "/") else 0o700)
            else:
                info = os.lstat(full)
                self._check_existing_dir(rel, info)
                self._present_dirs.add(rel)
        except FileExistsError:
            self._check_existing_dir(rel, os.lstat(full))
        except FileNotFoundError:
            if create:
                raise WriteFailure(errno.ENOENT, os.strerror(errno.ENOENT), full, "create") from None
        except OSError as exc:
            raise WriteFailure(exc.errno, exc.strerror, full, "create") from None
        if create:
            self._present_dirs.add(rel)
        self._checked_dirs.add(rel)

    @staticmethod
    def _check_existing_dir(rel: str, info: os.stat_result) -> None:
        if not stat.S_ISDIR(info.st_mode):
            kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a directory"
            raise UnsafeEntryError(f"refusing to write into {rel!r}: it already exists in "
                                   f"the target folder and is {kind}")

    def _make_dir(self, entry: Entry, out_path: str) -> None:
        self._ensure_dir(out_path, create=self._files.behind)
        self._dir_meta.append((out_path, entry.mode, entry.mtime))

    def _make_symlink(self, entry: Entry, out_path: str) -> None:
        final = self._parent_ready(out_path)
        temp = temp_name(final)
        step = "create"
        try:
            unlink_quietly(temp)
            os.symlink(entry.target, temp)
            if entry.mtime:
                os.utime(temp, (entry.mtime, entry.mtime), follow_symlinks=False)
            elif entry.mtime == 0:
                self._epoch_links.append(out_path)
            step = "rename"
            os.replace(temp, final)
        except OSError as exc:
            unlink_quietly(temp)
            raise WriteFailure(exc.errno, exc.strerror, final, step) from None

    def _write_file(self, entry: Entry, out_path: str, chunks, manifest: ManifestReader | None) -> str:
        """Streams a large file (or the manifest) into place here; returns its SHA-256."""
        final = self._parent_ready(out_path)
        progress = self.progress
        digest = hashlib.sha256()

        def on_chunk(chunk: bytes) -> None:
            digest.update(chunk)
            if manifest is not None:
                manifest.feed(chunk)
            if progress is not None:
                progress.update(advance=len(chunk), item=entry.path)

        write_file(final, chunks, self._mode(entry, out_path), entry.mtime, self._umask, on_chunk)
        return digest.hexdigest()

    # -- at the end ---------------------------------------------------------------------
    def _apply_dir_meta(self) -> None:
        for out_path, mode, mtime in sorted(self._dir_meta, key=lambda item: -item[0].count("/")):
            full = self._full(out_path)
            if not full.startswith(self._root + "/"):
                mode = 0o700   # a private folder stays owner-only
            try:
                try:
                    os.chmod(full, mode & KEPT_PERMISSIONS)
                except FileNotFoundError:   # empty: no file writer made it
                    self._ensure_dir(out_path, create=True)
                    os.chmod(full, mode & KEPT_PERMISSIONS)
                if mtime:  # 0 waits for _apply_epoch_times
                    os.utime(full, (mtime, mtime))
            except OSError as exc:
                raise WriteFailure(exc.errno, exc.strerror, full, "finish") from None

    def _apply_epoch_times(self) -> None:
        """An mtime of 0 is applied only to archives with a sitepack manifest (whose
        writer stores real times): Akeeba's JPS writer puts 0 where it stores no time
        (folders and links), which would date them 1 January 1970. Without one, such
        folders and links keep the time of the extraction, as Akeeba's extractor leaves
        them."""
        if not self.report.manifest_checked:
            return
        for out_path, _, mtime in self._dir_meta:
            if mtime == 0:
                os.utime(self._full(out_path), (0, 0))
        for out_path in self._epoch_links:
            os.utime(self._full(out_path), (0, 0), follow_symlinks=False)

    def _check_manifest(self, manifest: ManifestReader, comparison: ManifestComparison) -> None:
        manifest.finish()
        problems = comparison.finish()
        if not problems:
            self.report.manifest_checked = True
            return
        for path, _ in problems:
            out_path = path + ".bak" if path in self._renamed else path
            if self.tree.kinds.get(out_path) is EntryType.FILE:
                unlink_quietly(self._full(out_path))
        path, problem = problems[0]
        path = shown_name(path)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArchiveError(f"the archive is damaged: {path}: {problem}{more}; the damaged files "
                           "were removed, copy or download the archive again")


def extract(archive: Path | str, dest: Path | str, *, password: str | None = None,
            progress: Progress | None = None, server_files_as_bak: bool | str = False,
            private_dir: Path | None = None) -> ExtractReport:
    """Extracts the archive (any part of it) into ``dest``; see the module docstring."""
    with open_archive(archive, password) as reader:
        return extract_reader(reader, dest, progress=progress,
                              server_files_as_bak=server_files_as_bak, private_dir=private_dir)


def extract_reader(reader: ArchiveReader, dest: Path | str, *, progress: Progress | None = None,
                   server_files_as_bak: bool | str = False,
                   private_dir: Path | None = None) -> ExtractReport:
    """Like ``extract`` for an archive already opened; with a private folder (a restore),
    under the restore's lock (``private.restore_lock``)."""
    extractor = Extractor(dest, progress=progress, server_files_as_bak=server_files_as_bak,
                          private_dir=private_dir)
    if private_dir is None:
        return extractor.run(reader)
    with restore_lock(Path(dest), Path(private_dir)):
        return extractor.run(reader)
